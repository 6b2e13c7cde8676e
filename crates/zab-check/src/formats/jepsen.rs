//! Jepsen's textual register log (`INFO  jepsen.util - <process>\t<type>\t<f>\t<value>`), as
//! in the etcd histories Knossos and Porcupine were tested on.
//!
//! Times are line numbers. `:info` (timed out) is an unknown outcome that completes at
//! +infinity; a `:fail` cas is evidence that the compare failed; a `:fail` read or write had
//! no effect and is dropped. An invocation with no completion by the end is unknown.

use super::FormatError;
use crate::lin::Operation;
use crate::models::register::{RegisterInput, RegisterOutput};
use std::collections::BTreeMap;

type RegisterOp = Operation<RegisterInput, RegisterOutput>;

/// Parse a whole log.
pub fn parse(text: &str) -> Result<Vec<RegisterOp>, FormatError> {
    let mut pending: BTreeMap<u64, (u64, RegisterInput)> = BTreeMap::new();
    let mut ops: Vec<RegisterOp> = Vec::new();
    let mut op_lines = 0;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let time = index as u64;
        let Some(rest) = raw.split("jepsen.util - ").nth(1) else {
            if raw.trim().is_empty() || !raw.contains("jepsen.util") {
                continue;
            }
            return Err(FormatError::new(
                line_no,
                "expected `jepsen.util - <process>`",
            ));
        };
        op_lines += 1;
        let fields: Vec<&str> = rest.split('\t').map(str::trim).collect();
        if fields.len() < 4 {
            return Err(FormatError::new(
                line_no,
                format!("expected 4 tab-separated fields, found {}", fields.len()),
            ));
        }
        let process: u64 = fields[0]
            .parse()
            .map_err(|_| FormatError::new(line_no, format!("bad process `{}`", fields[0])))?;
        let (kind, f, value) = (fields[1], fields[2], fields[3]);
        if kind == ":invoke" {
            let input = parse_input(f, value).map_err(|m| FormatError::new(line_no, m))?;
            if pending.insert(process, (time, input)).is_some() {
                return Err(FormatError::new(
                    line_no,
                    format!("process {process} invoked twice without completing"),
                ));
            }
            continue;
        }
        let Some((call, input)) = pending.remove(&process) else {
            return Err(FormatError::new(
                line_no,
                format!("`{kind}` for process {process} with no pending invocation"),
            ));
        };
        let id = ops.len() as u64;
        let definite = |output: RegisterOutput| RegisterOp {
            id,
            client: process,
            input,
            output: Some(output),
            call,
            ret: Some(time),
        };
        let unknown = RegisterOp {
            id,
            client: process,
            input,
            output: None,
            call,
            ret: None,
        };
        match (kind, input) {
            (":ok", RegisterInput::Read) => {
                let v = parse_value(value).map_err(|m| FormatError::new(line_no, m))?;
                ops.push(definite(RegisterOutput::Read(v)));
            }
            (":ok", RegisterInput::Write(_)) => ops.push(definite(RegisterOutput::Write)),
            (":ok", RegisterInput::Cas { .. }) => ops.push(definite(RegisterOutput::Cas(true))),
            (":fail", RegisterInput::Cas { .. }) if value != ":timed-out" => {
                ops.push(definite(RegisterOutput::Cas(false)))
            }
            // A failed op other than a cas's compare did not happen.
            (":fail", _) => {}
            (":info", _) => ops.push(unknown),
            _ => {
                return Err(FormatError::new(
                    line_no,
                    format!("unknown type `{kind}`; valid: :invoke, :ok, :fail, :info"),
                ))
            }
        }
    }
    if op_lines == 0 && text.lines().any(|l| !l.trim().is_empty()) {
        // Other log lines are skipped, but a file with none of ours is the wrong format.
        return Err(FormatError::new(
            1,
            "no `INFO jepsen.util - <process>\t<type>\t<f>\t<value>` op lines: not a Jepsen register log",
        ));
    }
    for (process, (call, input)) in pending {
        ops.push(RegisterOp {
            id: ops.len() as u64,
            client: process,
            input,
            output: None,
            call,
            ret: None,
        });
    }
    Ok(ops)
}

fn parse_input(f: &str, value: &str) -> Result<RegisterInput, String> {
    match f {
        ":read" => Ok(RegisterInput::Read),
        ":write" => Ok(RegisterInput::Write(parse_int(value)?)),
        ":cas" => {
            let inner = value
                .strip_prefix('[')
                .and_then(|v| v.strip_suffix(']'))
                .ok_or_else(|| format!("cas value `{value}` is not `[from to]`"))?;
            let mut parts = inner.split_whitespace();
            let (Some(from), Some(to), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(format!("cas value `{value}` is not `[from to]`"));
            };
            Ok(RegisterInput::Cas {
                from: parse_int(from)?,
                to: parse_int(to)?,
            })
        }
        other => Err(format!("unknown op `{other}`; valid: :read, :write, :cas")),
    }
}

fn parse_value(value: &str) -> Result<Option<i64>, String> {
    if value == "nil" {
        Ok(None)
    } else {
        parse_int(value).map(Some)
    }
}

fn parse_int(text: &str) -> Result<i64, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not an integer"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "INFO  jepsen.util - 0\t:invoke\t:write\t4\n\
INFO  jepsen.util - 1\t:invoke\t:cas\t[4 2]\n\
INFO  jepsen.util - 0\t:ok\t:write\t4\n\
INFO  jepsen.util - 1\t:info\t:cas\t:timed-out\n\
INFO  jepsen.util - 2\t:invoke\t:read\tnil\n\
INFO  jepsen.util - 2\t:ok\t:read\t2\n";

    #[test]
    fn parses_ok_info_and_read_values() {
        let ops = parse(LOG).unwrap();
        assert_eq!(ops.len(), 3);
        assert_eq!(ops[0].input, RegisterInput::Write(4));
        assert_eq!((ops[0].call, ops[0].ret), (0, Some(2)));
        assert_eq!(ops[1].input, RegisterInput::Cas { from: 4, to: 2 });
        assert_eq!(ops[1].output, None);
        assert_eq!(ops[2].output, Some(RegisterOutput::Read(Some(2))));
    }

    #[test]
    fn completion_without_invocation_is_an_error_with_its_line() {
        let err = parse("INFO  jepsen.util - 3\t:ok\t:read\t1\n").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.message.contains("no pending invocation"), "{err}");
    }

    #[test]
    fn bad_cas_value_is_an_error() {
        let err = parse("INFO  jepsen.util - 3\t:invoke\t:cas\t[1]\n").unwrap_err();
        assert!(err.message.contains("[from to]"), "{err}");
    }

    #[test]
    fn a_file_of_another_format_is_an_error() {
        let err = parse("{:process 0, :type :invoke, :f :get, :key \"1\"}\n").unwrap_err();
        assert!(err.message.contains("not a Jepsen register log"), "{err}");
        assert_eq!(
            parse("").unwrap(),
            Vec::new(),
            "an empty log is an empty history"
        );
    }
}
