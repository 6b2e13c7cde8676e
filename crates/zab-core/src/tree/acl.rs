//! ACL checks and the built-in authentication schemes, as ZooKeeper has them:
//! `ZooKeeperServer.checkACL`, `PrepRequestProcessor.fixupACL`,
//! `DigestAuthenticationProvider` and `IPAuthenticationProvider`.
//!
//! Schemes: `world` (only `anyone`), `auth` (expanded at create/setACL time to the caller's
//! authenticated ids), `digest` (`user:base64(sha1("user:password"))`), `ip` (an address or a
//! CIDR block, IPv4 or IPv6). A `super` id in the caller's auth passes every check.

use crate::error::ErrorCode;
use crate::request::{perms, Acl, Id};
use base64::Engine;
use sha1::{Digest, Sha1};

/// Does an ACL list grant `perm` to a caller with these ids? An empty list grants everything,
/// exactly as ZooKeeper's `checkACL` does. Any overlap of bits counts (getACL asks for
/// READ|ADMIN and is satisfied by either).
pub fn permits(acl: &[Acl], perm: i32, auth: &[Id]) -> bool {
    if acl.is_empty() || auth.iter().any(|id| id.scheme == "super") {
        return true;
    }
    acl.iter().filter(|a| a.perms & perm != 0).any(|a| {
        if a.id.scheme == "world" && a.id.id == "anyone" {
            return true;
        }
        auth.iter()
            .filter(|caller| caller.scheme == a.id.scheme)
            .any(|caller| matches(&a.id.scheme, &caller.id, &a.id.id))
    })
}

/// `checkACL`: NOAUTH unless [`permits`].
pub fn check(acl: &[Acl], perm: i32, auth: &[Id]) -> Result<(), ErrorCode> {
    if permits(acl, perm, auth) {
        Ok(())
    } else {
        Err(ErrorCode::NoAuth)
    }
}

/// Does the provider of `scheme` match a caller id against an ACL id? Only the providers
/// ZooKeeper registers by default (`digest`, `ip`) match anything.
fn matches(scheme: &str, caller: &str, acl_id: &str) -> bool {
    match scheme {
        "digest" => caller == acl_id,
        "ip" => ip_matches(caller, acl_id),
        _ => false,
    }
}

/// Is an id valid for its scheme (`AuthenticationProvider.isValid`)?
fn is_valid_id(id: &Id) -> bool {
    match id.scheme.as_str() {
        "digest" => java_split(&id.id, ':').len() == 2,
        "ip" => ip_is_valid(&id.id),
        _ => false,
    }
}

/// Can ids of this scheme stand in for the `auth` pseudo-scheme
/// (`ServerAuthenticationProvider.isAuthenticated`)? Digest yes, ip no.
fn is_authenticated_scheme(scheme: &str) -> bool {
    scheme == "digest"
}

/// `fixupACL`: drop duplicates, refuse an empty list or an invalid id (INVALIDACL), expand
/// `auth` entries into one entry per authenticated caller id (INVALIDACL if there is none).
pub fn fixup(acl: &[Acl], auth: &[Id]) -> Result<Vec<Acl>, ErrorCode> {
    let mut unique: Vec<&Acl> = Vec::with_capacity(acl.len());
    for a in acl {
        if !unique.contains(&a) {
            unique.push(a);
        }
    }
    if unique.is_empty() {
        return Err(ErrorCode::InvalidAcl);
    }
    let mut out = Vec::with_capacity(unique.len());
    for a in unique {
        if a.id.scheme == "world" && a.id.id == "anyone" {
            out.push(a.clone());
        } else if a.id.scheme == "auth" {
            let mut any = false;
            for caller in auth.iter().filter(|c| is_authenticated_scheme(&c.scheme)) {
                any = true;
                out.push(Acl {
                    perms: a.perms,
                    id: caller.clone(),
                });
            }
            if !any {
                return Err(ErrorCode::InvalidAcl);
            }
        } else if is_valid_id(&a.id) {
            out.push(a.clone());
        } else {
            return Err(ErrorCode::InvalidAcl);
        }
    }
    debug_assert!(!out.is_empty(), "a fixed-up ACL is never empty");
    Ok(out)
}

/// What getACL shows a caller without ADMIN: digest ids with the hash replaced by `x`
/// (`user:x`), everything else as is.
pub fn redact(acl: &[Acl]) -> Vec<Acl> {
    acl.iter()
        .map(|a| {
            if a.id.scheme == "digest" {
                let user = a.id.id.split(':').next().unwrap_or("");
                Acl {
                    perms: a.perms,
                    id: Id::new("digest", &format!("{user}:x")),
                }
            } else {
                a.clone()
            }
        })
        .collect()
}

/// `DigestAuthenticationProvider.generateDigest`: `user:base64(sha1("user:password"))`.
pub fn digest_id(user_password: &str) -> String {
    let user = user_password.split(':').next().unwrap_or("");
    let hash = Sha1::digest(user_password.as_bytes());
    let encoded = base64::engine::general_purpose::STANDARD.encode(hash);
    format!("{user}:{encoded}")
}

/// Turn an `addauth scheme auth` request into the ids it gives the connection
/// (`AuthenticationProvider.handleAuthentication`). `digest` hashes `user:password`; if the
/// result equals `super_digest` (ZooKeeper's `zookeeper.DigestAuthenticationProvider.superDigest`)
/// the caller also becomes `super`. `ip` gives the connection's address, which only the driver
/// knows. Any other scheme is AUTHFAILED (ZooKeeper then closes the connection).
pub fn auth_ids(
    scheme: &str,
    auth: &[u8],
    remote_ip: Option<&str>,
    super_digest: Option<&str>,
) -> Result<Vec<Id>, ErrorCode> {
    match scheme {
        "digest" => {
            let text = String::from_utf8_lossy(auth);
            let digest = digest_id(&text);
            let mut ids = Vec::with_capacity(2);
            if super_digest == Some(digest.as_str()) {
                ids.push(Id::new("super", ""));
            }
            ids.push(Id::new("digest", &digest));
            Ok(ids)
        }
        "ip" => match remote_ip {
            Some(ip) => Ok(vec![Id::new("ip", ip)]),
            None => Err(ErrorCode::AuthFailed),
        },
        _ => Err(ErrorCode::AuthFailed),
    }
}

/// Java's `String.split(regex)` for a single-character separator: trailing empty strings are
/// dropped (so `"a:"` has one part and `":"` none).
fn java_split(s: &str, sep: char) -> Vec<&str> {
    let mut parts: Vec<&str> = s.split(sep).collect();
    if s.is_empty() {
        return parts;
    }
    while parts.last() == Some(&"") {
        parts.pop();
    }
    parts
}

/// An address as bytes: IPv6 if it contains ':', IPv4 if it contains '.', else nothing.
fn addr_bytes(addr: &str) -> Option<Vec<u8>> {
    if addr.contains(':') {
        v6_bytes(addr)
    } else if addr.contains('.') {
        v4_bytes(addr)
    } else {
        None
    }
}

fn v4_bytes(addr: &str) -> Option<Vec<u8>> {
    let parts: Vec<&str> = addr.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    parts
        .iter()
        .map(|p| {
            p.parse::<i32>()
                .ok()
                .filter(|v| (0..=255).contains(v))
                .map(|v| v as u8)
        })
        .collect()
}

fn v6_bytes(addr: &str) -> Option<Vec<u8>> {
    let halves: Vec<&str> = addr.split("::").collect();
    let (head, tail): (Vec<&str>, Vec<&str>) = match halves.as_slice() {
        [whole] => {
            let segments: Vec<&str> = whole.split(':').collect();
            if segments.len() != 8 {
                return None;
            }
            (segments, Vec::new())
        }
        [a, b] => {
            let head = if a.is_empty() {
                Vec::new()
            } else {
                a.split(':').collect()
            };
            let tail = if b.is_empty() {
                Vec::new()
            } else {
                b.split(':').collect()
            };
            if head.len() + tail.len() >= 8 {
                return None;
            }
            (head, tail)
        }
        _ => return None,
    };
    let mut out = vec![0u8; 16];
    let mut put = |start: usize, segments: &[&str]| -> Option<()> {
        for (k, seg) in segments.iter().enumerate() {
            if seg.is_empty() || seg.len() > 4 {
                return None;
            }
            let v = i32::from_str_radix(seg, 16).ok()?;
            out[start + 2 * k] = (v >> 8) as u8;
            out[start + 2 * k + 1] = v as u8;
        }
        Some(())
    };
    put(0, &head)?;
    put(16 - 2 * tail.len(), &tail)?;
    Some(out)
}

/// Keep the first `bits` bits.
fn mask(bytes: &mut [u8], bits: usize) {
    for (i, b) in bytes.iter_mut().enumerate() {
        let keep = bits.saturating_sub(i * 8).min(8);
        *b &= !(0xffu16 >> keep) as u8;
    }
}

/// Parse `addr[/bits]` as `IPAuthenticationProvider` does.
fn ip_expr(expr: &str) -> Option<(Vec<u8>, usize)> {
    let (addr, bits) = match expr.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (expr, None),
    };
    let bytes = addr_bytes(addr)?;
    let max = bytes.len() * 8;
    let bits = match bits {
        Some(b) => b
            .parse::<i32>()
            .ok()
            .filter(|v| *v >= 0 && *v as usize <= max)? as usize,
        None => max,
    };
    Some((bytes, bits))
}

fn ip_is_valid(expr: &str) -> bool {
    ip_expr(expr).is_some()
}

fn ip_matches(caller: &str, expr: &str) -> bool {
    let Some((mut acl_addr, bits)) = ip_expr(expr) else {
        return false;
    };
    let Some(mut remote) = addr_bytes(caller) else {
        return false;
    };
    if remote.len() != acl_addr.len() {
        return false;
    }
    mask(&mut acl_addr, bits);
    mask(&mut remote, bits);
    acl_addr == remote
}

/// `ZooDefs.Ids.CREATOR_ALL_ACL`: everything for the caller's authenticated ids.
pub fn creator_all() -> Vec<Acl> {
    vec![Acl {
        perms: perms::ALL,
        id: Id::new("auth", ""),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(perms: i32, scheme: &str, id: &str) -> Acl {
        Acl {
            perms,
            id: Id::new(scheme, id),
        }
    }

    #[test]
    fn digest_matches_zookeeper_generate_digest() {
        // The example from ZooKeeper's documentation and DigestAuthenticationProviderTest.
        assert_eq!(
            digest_id("super:test"),
            "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
        );
        assert_eq!(digest_id("bob:"), format!("bob:{}", base64_sha1("bob:")));
    }

    fn base64_sha1(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(Sha1::digest(s.as_bytes()))
    }

    #[test]
    fn world_anyone_grants_listed_perms_only() {
        let a = vec![acl(perms::READ, "world", "anyone")];
        assert!(permits(&a, perms::READ, &[]));
        assert!(!permits(&a, perms::WRITE, &[]));
        assert_eq!(check(&a, perms::WRITE, &[]), Err(ErrorCode::NoAuth));
    }

    #[test]
    fn empty_acl_grants_everything_and_super_bypasses() {
        assert!(permits(&[], perms::ADMIN, &[]));
        let a = vec![acl(perms::READ, "digest", "bob:xyz")];
        assert!(permits(&a, perms::ADMIN, &[Id::new("super", "")]));
    }

    #[test]
    fn digest_scheme_matches_exact_id() {
        let id = digest_id("bob:secret");
        let a = vec![acl(perms::ALL, "digest", &id)];
        assert!(permits(&a, perms::WRITE, &[Id::new("digest", &id)]));
        let other = digest_id("bob:wrong");
        assert!(!permits(&a, perms::WRITE, &[Id::new("digest", &other)]));
        assert!(!permits(&a, perms::WRITE, &[Id::new("ip", &id)]));
    }

    #[test]
    fn ip_scheme_matches_address_and_cidr() {
        let a = vec![acl(perms::READ, "ip", "10.0.0.0/8")];
        assert!(permits(&a, perms::READ, &[Id::new("ip", "10.1.2.3")]));
        assert!(!permits(&a, perms::READ, &[Id::new("ip", "11.1.2.3")]));
        let exact = vec![acl(perms::READ, "ip", "192.168.1.7")];
        assert!(permits(
            &exact,
            perms::READ,
            &[Id::new("ip", "192.168.1.7")]
        ));
        assert!(!permits(
            &exact,
            perms::READ,
            &[Id::new("ip", "192.168.1.8")]
        ));
        let odd = vec![acl(perms::READ, "ip", "192.168.1.0/25")];
        assert!(permits(
            &odd,
            perms::READ,
            &[Id::new("ip", "192.168.1.127")]
        ));
        assert!(!permits(
            &odd,
            perms::READ,
            &[Id::new("ip", "192.168.1.128")]
        ));
        let v6 = vec![acl(perms::READ, "ip", "fe80::/16")];
        assert!(permits(&v6, perms::READ, &[Id::new("ip", "fe80::1")]));
        assert!(!permits(&v6, perms::READ, &[Id::new("ip", "fe81::1")]));
        assert!(!permits(&v6, perms::READ, &[Id::new("ip", "10.0.0.1")]));
    }

    #[test]
    fn fixup_refuses_empty_and_malformed_lists() {
        assert_eq!(fixup(&[], &[]), Err(ErrorCode::InvalidAcl));
        for (scheme, id) in [
            ("world", "someone"),
            ("digest", "nocolon"),
            ("digest", "a:b:c"),
            ("ip", "300.0.0.1"),
            ("ip", "10.0.0.0/33"),
            ("ip", "host"),
            ("unknown", "x"),
            ("super", ""),
        ] {
            assert_eq!(
                fixup(&[acl(1, scheme, id)], &[]),
                Err(ErrorCode::InvalidAcl),
                "{scheme}:{id}"
            );
        }
    }

    #[test]
    fn fixup_expands_auth_to_authenticated_ids_only() {
        let bob = Id::new("digest", &digest_id("bob:pw"));
        let ip = Id::new("ip", "10.0.0.1");
        let out = fixup(&creator_all(), &[ip.clone(), bob.clone()]).unwrap();
        assert_eq!(
            out,
            vec![Acl {
                perms: perms::ALL,
                id: bob
            }]
        );
        assert_eq!(fixup(&creator_all(), &[ip]), Err(ErrorCode::InvalidAcl));
        assert_eq!(fixup(&creator_all(), &[]), Err(ErrorCode::InvalidAcl));
    }

    #[test]
    fn fixup_drops_duplicates() {
        let a = acl(perms::ALL, "world", "anyone");
        assert_eq!(fixup(&[a.clone(), a.clone()], &[]).unwrap(), vec![a]);
    }

    #[test]
    fn redact_hides_digest_hashes() {
        let a = vec![acl(1, "digest", "bob:abc="), acl(1, "ip", "1.2.3.4")];
        let r = redact(&a);
        assert_eq!(r[0].id.id, "bob:x");
        assert_eq!(r[1], a[1]);
    }

    #[test]
    fn auth_ids_hash_digest_and_refuse_unknown_schemes() {
        let ids = auth_ids("digest", b"bob:pw", None, None).unwrap();
        assert_eq!(ids, vec![Id::new("digest", &digest_id("bob:pw"))]);
        let sup = digest_id("admin:pw");
        let ids = auth_ids("digest", b"admin:pw", None, Some(&sup)).unwrap();
        assert_eq!(ids[0], Id::new("super", ""));
        assert_eq!(
            auth_ids("kerberos", b"x", None, None),
            Err(ErrorCode::AuthFailed)
        );
        assert_eq!(
            auth_ids("ip", b"", Some("1.2.3.4"), None).unwrap()[0].id,
            "1.2.3.4"
        );
    }
}
