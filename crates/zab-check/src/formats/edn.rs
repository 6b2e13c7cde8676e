//! Porcupine's kv histories: one EDN map per line,
//! `{:process P, :type :invoke|:ok|:fail|:info, :f :get|:put|:append, :key "K", :value V}`.
//!
//! Only the flat maps these files use are read (keywords, strings, integers, nil); anything
//! else is a clear error. Times are line numbers.

use super::FormatError;
use crate::lin::Operation;
use crate::models::kv::{KvInput, KvOp, KvOutput};
use std::collections::BTreeMap;

type KvOperation = Operation<KvInput, KvOutput>;

/// An EDN scalar.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Value {
    Keyword(String),
    Str(String),
    Int(i64),
    Nil,
}

/// Parse a whole file.
pub fn parse(text: &str) -> Result<Vec<KvOperation>, FormatError> {
    let mut pending: BTreeMap<i64, (u64, KvInput)> = BTreeMap::new();
    let mut ops: Vec<KvOperation> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let time = index as u64;
        if raw.trim().is_empty() {
            continue;
        }
        let map = parse_map(raw).map_err(|m| FormatError::new(line_no, m))?;
        let get = |key: &str| {
            map.get(key)
                .ok_or_else(|| FormatError::new(line_no, format!("missing `:{key}`")))
        };
        let Value::Int(process) = get("process")? else {
            return Err(FormatError::new(line_no, "`:process` must be an integer"));
        };
        let Value::Keyword(kind) = get("type")? else {
            return Err(FormatError::new(line_no, "`:type` must be a keyword"));
        };
        let process = *process;
        if kind == "invoke" {
            let input = parse_input(&map).map_err(|m| FormatError::new(line_no, m))?;
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
                format!("`:{kind}` for process {process} with no pending invocation"),
            ));
        };
        let id = ops.len() as u64;
        let client = process as u64;
        match kind.as_str() {
            "ok" => {
                let value = match (input.op, get("value")?) {
                    (KvOp::Get, Value::Str(s)) => s.clone(),
                    (KvOp::Get, Value::Nil) => String::new(),
                    (KvOp::Get, other) => {
                        return Err(FormatError::new(
                            line_no,
                            format!("a get must read a string or nil, not {other:?}"),
                        ))
                    }
                    _ => String::new(),
                };
                ops.push(KvOperation {
                    id,
                    client,
                    input,
                    output: Some(KvOutput { value }),
                    call,
                    ret: Some(time),
                });
            }
            // A failed op did not happen.
            "fail" => {}
            "info" => ops.push(KvOperation {
                id,
                client,
                input,
                output: None,
                call,
                ret: None,
            }),
            other => {
                return Err(FormatError::new(
                    line_no,
                    format!("unknown `:type :{other}`; valid: :invoke, :ok, :fail, :info"),
                ))
            }
        }
    }
    for (process, (call, input)) in pending {
        ops.push(KvOperation {
            id: ops.len() as u64,
            client: process as u64,
            input,
            output: None,
            call,
            ret: None,
        });
    }
    Ok(ops)
}

fn parse_input(map: &BTreeMap<String, Value>) -> Result<KvInput, String> {
    let op = match map.get("f") {
        Some(Value::Keyword(f)) => match f.as_str() {
            "get" => KvOp::Get,
            "put" => KvOp::Put,
            "append" => KvOp::Append,
            other => return Err(format!("unknown `:f :{other}`; valid: :get, :put, :append")),
        },
        _ => return Err("`:f` must be a keyword".into()),
    };
    let key = match map.get("key") {
        Some(Value::Str(k)) => k.clone(),
        Some(Value::Int(k)) => k.to_string(),
        _ => return Err("`:key` must be a string or an integer".into()),
    };
    let value = match (op, map.get("value")) {
        (KvOp::Get, _) => String::new(),
        (_, Some(Value::Str(v))) => v.clone(),
        (_, Some(Value::Int(v))) => v.to_string(),
        (_, other) => {
            return Err(format!(
                "a put/append needs a string `:value`, not {other:?}"
            ))
        }
    };
    Ok(KvInput { op, key, value })
}

/// Parse `{:k v, :k v}` into a map keyed by keyword name.
fn parse_map(line: &str) -> Result<BTreeMap<String, Value>, String> {
    let body = line
        .trim()
        .strip_prefix('{')
        .and_then(|l| l.strip_suffix('}'))
        .ok_or("expected one `{...}` map per line")?;
    let mut chars = body.chars().peekable();
    let mut map = BTreeMap::new();
    loop {
        skip_separators(&mut chars);
        if chars.peek().is_none() {
            return Ok(map);
        }
        let Value::Keyword(key) = parse_value(&mut chars)? else {
            return Err("map keys must be keywords".into());
        };
        skip_separators(&mut chars);
        let value = parse_value(&mut chars)?;
        map.insert(key, value);
    }
}

fn skip_separators(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
        chars.next();
    }
}

fn parse_value(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<Value, String> {
    match chars.peek() {
        None => Err("unexpected end of line".into()),
        Some('"') => {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next() {
                    None => return Err("unterminated string".into()),
                    Some('"') => return Ok(Value::Str(s)),
                    Some('\\') => match chars.next() {
                        Some('n') => s.push('\n'),
                        Some('t') => s.push('\t'),
                        Some(c @ ('"' | '\\')) => s.push(c),
                        other => return Err(format!("unsupported escape {other:?}")),
                    },
                    Some(c) => s.push(c),
                }
            }
        }
        Some(_) => {
            let mut token = String::new();
            while chars
                .peek()
                .is_some_and(|c| !c.is_whitespace() && *c != ',')
            {
                token.push(chars.next().unwrap_or_default());
            }
            if let Some(k) = token.strip_prefix(':') {
                Ok(Value::Keyword(k.to_string()))
            } else if token == "nil" {
                Ok(Value::Nil)
            } else {
                token
                    .parse()
                    .map(Value::Int)
                    .map_err(|_| format!("unsupported EDN token `{token}`"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_invoke_and_ok_pairs() {
        let text = "{:process 0, :type :invoke, :f :append, :key \"0\", :value \"x 0 0 y\"}\n\
{:process 1, :type :invoke, :f :get, :key \"0\", :value nil}\n\
{:process 0, :type :ok, :f :append, :key \"0\", :value \"x 0 0 y\"}\n\
{:process 1, :type :ok, :f :get, :key \"0\", :value \"x 0 0 y\"}\n";
        let ops = parse(text).unwrap();
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[0].input.op, KvOp::Append);
        assert_eq!(ops[0].input.value, "x 0 0 y");
        assert_eq!(ops[1].output.as_ref().unwrap().value, "x 0 0 y");
        assert_eq!((ops[1].call, ops[1].ret), (1, Some(3)));
    }

    #[test]
    fn malformed_line_is_an_error_not_a_panic() {
        let err = parse("{:process 0, :type :invoke, :f :get, :key \"0").unwrap_err();
        assert_eq!(err.line, 1);
        let err = parse("{:process 0, :type :invoke, :f :frob, :key \"0\"}").unwrap_err();
        assert!(err.message.contains("valid: :get"), "{err}");
    }
}
