//! Znode path rules: ZooKeeper's `PathUtils.validatePath`, the parent/child split the server
//! uses (`lastIndexOf('/')`), the reserved paths and the sequential suffix.

use thiserror::Error;

/// The root znode.
pub const ROOT: &str = "/";
/// ZooKeeper's own subtree (`Quotas.procZookeeper`).
pub const ZOOKEEPER: &str = "/zookeeper";
/// Quota bookkeeping (`Quotas.quotaZookeeper`).
pub const QUOTA: &str = "/zookeeper/quota";
/// The dynamic-configuration node (`ZooDefs.CONFIG_NODE`), which `DataTree`'s constructor
/// always creates with a read-only ACL.
pub const CONFIG: &str = "/zookeeper/config";

/// Why a path is not a valid znode path. The server answers all of these with BADARGUMENTS;
/// the reason is for logs and tests.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PathError {
    #[error("path must not be empty")]
    Empty,
    #[error("path must start with '/'")]
    NotAbsolute,
    #[error("path must not end with '/'")]
    TrailingSlash,
    #[error("null character at {0}")]
    Nul(usize),
    #[error("empty node name at {0}")]
    EmptyName(usize),
    #[error("relative path ('.' or '..') at {0}")]
    Relative(usize),
    #[error("invalid character at {0}")]
    InvalidChar(usize),
}

/// Is `c` one of the characters `PathUtils.validatePath` refuses? Java walks UTF-16 code units:
/// control characters, U+007F..U+009F, U+D800..U+F8FF (surrogates, hence every character outside
/// the Basic Multilingual Plane, and the private-use area) and U+FFF0..U+FFFF.
fn forbidden_char(c: char) -> bool {
    let u = c as u32;
    (0x01..=0x1f).contains(&u)
        || (0x7f..=0x9f).contains(&u)
        || (0xd800..=0xf8ff).contains(&u)
        || (0xfff0..=0xffff).contains(&u)
        || u > 0xffff
}

/// Validate a znode path exactly as `PathUtils.validatePath` does: absolute, no trailing slash
/// (except the root), no empty, `.` or `..` segments, no NUL, no forbidden characters.
pub fn validate(path: &str) -> Result<(), PathError> {
    if path.is_empty() {
        return Err(PathError::Empty);
    }
    if !path.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    if path.len() == 1 {
        return Ok(());
    }
    if path.ends_with('/') {
        return Err(PathError::TrailingSlash);
    }
    // Positions are in characters, like Java's (close enough for messages).
    let mut offset = 1;
    for segment in path[1..].split('/') {
        if segment.is_empty() {
            return Err(PathError::EmptyName(offset));
        }
        if segment == "." || segment == ".." {
            return Err(PathError::Relative(offset));
        }
        for (i, c) in segment.chars().enumerate() {
            if c == '\0' {
                return Err(PathError::Nul(offset + i));
            }
            if forbidden_char(c) {
                return Err(PathError::InvalidChar(offset + i));
            }
        }
        offset += segment.chars().count() + 1;
    }
    Ok(())
}

/// `true` if `path` is valid.
pub fn is_valid(path: &str) -> bool {
    validate(path).is_ok()
}

/// The parent of `path` as the server computes it (everything before the last '/'), with
/// ZooKeeper's `""` alias for the root written as `"/"`. `None` when there is no '/' at all.
pub fn parent(path: &str) -> Option<&str> {
    let slash = path.rfind('/')?;
    Some(if slash == 0 { ROOT } else { &path[..slash] })
}

/// The last component of `path` (after the last '/').
pub fn name(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

/// Join a parent path and a child name.
pub fn join(parent: &str, child: &str) -> String {
    if parent == ROOT {
        format!("/{child}")
    } else {
        format!("{parent}/{child}")
    }
}

/// Paths the server refuses to delete (`DataTree.isSpecialPath`).
pub fn is_special(path: &str) -> bool {
    matches!(path, ROOT | ZOOKEEPER | QUOTA | CONFIG)
}

/// The 10-digit sequential suffix ZooKeeper appends (`String.format("%010d", parentCVersion)`):
/// zero-padded, sign first, so a wrapped counter gives `-000000005` or `-2147483648`.
pub fn sequential_suffix(parent_cversion: i32) -> String {
    format!("{parent_cversion:010}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_paths() {
        for p in [
            "/",
            "/a",
            "/a/b",
            "/zookeeper",
            "/a/...",
            "/a/.b",
            "/a/b.",
            "/é",
            "/a b",
        ] {
            assert_eq!(validate(p), Ok(()), "{p}");
        }
    }

    #[test]
    fn rejects_structural_mistakes() {
        assert_eq!(validate(""), Err(PathError::Empty));
        assert_eq!(validate("a"), Err(PathError::NotAbsolute));
        assert_eq!(validate("/a/"), Err(PathError::TrailingSlash));
        assert_eq!(validate("//a"), Err(PathError::EmptyName(1)));
        assert_eq!(validate("/a//b"), Err(PathError::EmptyName(3)));
        assert_eq!(validate("/."), Err(PathError::Relative(1)));
        assert_eq!(validate("/a/.."), Err(PathError::Relative(3)));
        assert_eq!(validate("/../a"), Err(PathError::Relative(1)));
        assert_eq!(validate("/a/./b"), Err(PathError::Relative(3)));
    }

    #[test]
    fn rejects_forbidden_characters() {
        assert_eq!(validate("/a\0b"), Err(PathError::Nul(2)));
        for c in [
            '\u{1}', '\u{1f}', '\u{7f}', '\u{9f}', '\u{e000}', '\u{f8ff}', '\u{fff0}', '\u{ffff}',
            '😀',
        ] {
            let p = format!("/x{c}");
            assert_eq!(
                validate(&p),
                Err(PathError::InvalidChar(2)),
                "{:x}",
                c as u32
            );
        }
        for c in ['\u{a0}', '\u{f900}', '\u{ffef}', ' '] {
            assert!(is_valid(&format!("/x{c}")), "{:x}", c as u32);
        }
    }

    #[test]
    fn parent_and_name_follow_last_slash() {
        assert_eq!(parent("/a"), Some("/"));
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(parent("/a/"), Some("/a"));
        assert_eq!(parent("a"), None);
        assert_eq!(name("/a/b"), "b");
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
    }

    #[test]
    fn sequential_suffix_is_ten_digits_with_sign() {
        assert_eq!(sequential_suffix(0), "0000000000");
        assert_eq!(sequential_suffix(42), "0000000042");
        assert_eq!(sequential_suffix(i32::MAX), "2147483647");
        assert_eq!(sequential_suffix(-5), "-000000005");
        assert_eq!(sequential_suffix(i32::MIN), "-2147483648");
    }

    #[test]
    fn special_paths_are_root_and_zookeeper_nodes() {
        assert!(is_special("/"));
        assert!(is_special("/zookeeper"));
        assert!(is_special("/zookeeper/quota"));
        assert!(is_special("/zookeeper/config"));
        assert!(!is_special("/zookeeper/other"));
    }
}
