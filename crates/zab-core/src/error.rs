//! ZooKeeper's error codes (`KeeperException.Code`), with their wire numbers.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An error a client request can end with. The numeric values are ZooKeeper's and go on the
/// wire in `ReplyHeader.err`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ErrorCode {
    SystemError,
    RuntimeInconsistency,
    DataInconsistency,
    ConnectionLoss,
    MarshallingError,
    Unimplemented,
    OperationTimeout,
    BadArguments,
    UnknownSession,
    NewConfigNoQuorum,
    ReconfigInProgress,
    ApiError,
    NoNode,
    NoAuth,
    BadVersion,
    NoChildrenForEphemerals,
    NodeExists,
    NotEmpty,
    SessionExpired,
    InvalidCallback,
    InvalidAcl,
    AuthFailed,
    SessionMoved,
    NotReadOnly,
    EphemeralOnLocalSession,
    NoWatcher,
    RequestTimeout,
    ReconfigDisabled,
    SessionClosedRequireSaslAuth,
    QuotaExceeded,
    ThrottledOp,
}

impl ErrorCode {
    /// Every code, for exhaustive tests and codecs.
    pub const ALL: [ErrorCode; 31] = [
        ErrorCode::SystemError,
        ErrorCode::RuntimeInconsistency,
        ErrorCode::DataInconsistency,
        ErrorCode::ConnectionLoss,
        ErrorCode::MarshallingError,
        ErrorCode::Unimplemented,
        ErrorCode::OperationTimeout,
        ErrorCode::BadArguments,
        ErrorCode::UnknownSession,
        ErrorCode::NewConfigNoQuorum,
        ErrorCode::ReconfigInProgress,
        ErrorCode::ApiError,
        ErrorCode::NoNode,
        ErrorCode::NoAuth,
        ErrorCode::BadVersion,
        ErrorCode::NoChildrenForEphemerals,
        ErrorCode::NodeExists,
        ErrorCode::NotEmpty,
        ErrorCode::SessionExpired,
        ErrorCode::InvalidCallback,
        ErrorCode::InvalidAcl,
        ErrorCode::AuthFailed,
        ErrorCode::SessionMoved,
        ErrorCode::NotReadOnly,
        ErrorCode::EphemeralOnLocalSession,
        ErrorCode::NoWatcher,
        ErrorCode::RequestTimeout,
        ErrorCode::ReconfigDisabled,
        ErrorCode::SessionClosedRequireSaslAuth,
        ErrorCode::QuotaExceeded,
        ErrorCode::ThrottledOp,
    ];

    /// ZooKeeper's numeric code.
    pub fn code(self) -> i32 {
        use ErrorCode::*;
        match self {
            SystemError => -1,
            RuntimeInconsistency => -2,
            DataInconsistency => -3,
            ConnectionLoss => -4,
            MarshallingError => -5,
            Unimplemented => -6,
            OperationTimeout => -7,
            BadArguments => -8,
            UnknownSession => -12,
            NewConfigNoQuorum => -13,
            ReconfigInProgress => -14,
            ApiError => -100,
            NoNode => -101,
            NoAuth => -102,
            BadVersion => -103,
            NoChildrenForEphemerals => -108,
            NodeExists => -110,
            NotEmpty => -111,
            SessionExpired => -112,
            InvalidCallback => -113,
            InvalidAcl => -114,
            AuthFailed => -115,
            SessionMoved => -118,
            NotReadOnly => -119,
            EphemeralOnLocalSession => -120,
            NoWatcher => -121,
            RequestTimeout => -122,
            ReconfigDisabled => -123,
            SessionClosedRequireSaslAuth => -124,
            QuotaExceeded => -125,
            ThrottledOp => -127,
        }
    }

    /// The code for a wire number, `None` for numbers ZooKeeper does not define.
    pub fn from_code(code: i32) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|e| e.code() == code)
    }

    /// ZooKeeper's upper-case name (`NONODE`), as zkCli and our reports print it.
    pub fn name(self) -> &'static str {
        use ErrorCode::*;
        match self {
            SystemError => "SYSTEMERROR",
            RuntimeInconsistency => "RUNTIMEINCONSISTENCY",
            DataInconsistency => "DATAINCONSISTENCY",
            ConnectionLoss => "CONNECTIONLOSS",
            MarshallingError => "MARSHALLINGERROR",
            Unimplemented => "UNIMPLEMENTED",
            OperationTimeout => "OPERATIONTIMEOUT",
            BadArguments => "BADARGUMENTS",
            UnknownSession => "UNKNOWNSESSION",
            NewConfigNoQuorum => "NEWCONFIGNOQUORUM",
            ReconfigInProgress => "RECONFIGINPROGRESS",
            ApiError => "APIERROR",
            NoNode => "NONODE",
            NoAuth => "NOAUTH",
            BadVersion => "BADVERSION",
            NoChildrenForEphemerals => "NOCHILDRENFOREPHEMERALS",
            NodeExists => "NODEEXISTS",
            NotEmpty => "NOTEMPTY",
            SessionExpired => "SESSIONEXPIRED",
            InvalidCallback => "INVALIDCALLBACK",
            InvalidAcl => "INVALIDACL",
            AuthFailed => "AUTHFAILED",
            SessionMoved => "SESSIONMOVED",
            NotReadOnly => "NOTREADONLY",
            EphemeralOnLocalSession => "EPHEMERALONLOCALSESSION",
            NoWatcher => "NOWATCHER",
            RequestTimeout => "REQUESTTIMEOUT",
            ReconfigDisabled => "RECONFIGDISABLED",
            SessionClosedRequireSaslAuth => "SESSIONCLOSEDREQUIRESASLAUTH",
            QuotaExceeded => "QUOTAEXCEEDED",
            ThrottledOp => "THROTTLEDOP",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}

impl std::error::Error for ErrorCode {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_distinct() {
        for e in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(e.code()), Some(e));
        }
        assert_eq!(ErrorCode::from_code(0), None);
        assert_eq!(ErrorCode::NoNode.code(), -101);
        assert_eq!(ErrorCode::NodeExists.code(), -110);
    }
}
