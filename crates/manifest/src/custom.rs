//! Custom rules (`[[manifests.deny]]`): a field path and matchers.
//!
//! Path syntax: keys separated by `.`, `[*]` for every item of a list, `[N]` for one item,
//! `["key.with.dots"]` for keys that contain dots or slashes (annotations, labels). Example:
//! `spec.template.spec.containers[*].image`,
//! `metadata.annotations["nginx.ingress.kubernetes.io/server-snippet"]`.

use std::fmt;

use serde::de::{self, Deserializer};
use serde::Deserialize;

use crate::settings::{CustomRule, Literal};
use crate::yaml::{Node, Value};

/// One step of a [`FieldPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
    AnyItem,
}

/// A parsed field path.
#[derive(Clone, PartialEq, Eq)]
pub struct FieldPath {
    pub text: String,
    pub segments: Vec<Segment>,
}

impl fmt::Debug for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FieldPath({:?})", self.text)
    }
}

/// Why a field path is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid field path `{path}`: {reason}")]
pub struct FieldPathError {
    pub path: String,
    pub reason: String,
}

impl FieldPath {
    pub fn parse(text: &str) -> Result<FieldPath, FieldPathError> {
        let err = |reason: &str| FieldPathError {
            path: text.to_string(),
            reason: reason.to_string(),
        };
        let chars: Vec<char> = text.chars().collect();
        let mut segments = Vec::new();
        let mut i = 0;
        let mut expect_key = true;
        while i < chars.len() {
            match chars.get(i) {
                Some('[') => {
                    if chars.get(i + 1) == Some(&'"') {
                        let mut key = String::new();
                        let mut j = i + 2;
                        loop {
                            match chars.get(j) {
                                None => return Err(err("unterminated quoted key")),
                                Some('"') => break,
                                Some(c) => key.push(*c),
                            }
                            j += 1;
                        }
                        if chars.get(j + 1) != Some(&']') {
                            return Err(err("expected `]` after a quoted key"));
                        }
                        segments.push(Segment::Key(key));
                        i = j + 2;
                    } else {
                        let close = chars
                            .iter()
                            .skip(i)
                            .position(|c| *c == ']')
                            .map(|p| p + i)
                            .ok_or_else(|| err("unterminated `[`"))?;
                        let inner: String = chars.get(i + 1..close).unwrap_or(&[]).iter().collect();
                        if inner == "*" {
                            segments.push(Segment::AnyItem);
                        } else {
                            let n = inner
                                .parse::<usize>()
                                .map_err(|_| err("`[...]` holds `*`, a number or a quoted key"))?;
                            segments.push(Segment::Index(n));
                        }
                        i = close + 1;
                    }
                    expect_key = false;
                }
                Some('.') => {
                    if expect_key {
                        return Err(err("empty key"));
                    }
                    expect_key = true;
                    i += 1;
                }
                Some(_) => {
                    if !expect_key {
                        return Err(err("expected `.` or `[` between keys"));
                    }
                    let mut key = String::new();
                    while let Some(c) = chars.get(i) {
                        if *c == '.' || *c == '[' {
                            break;
                        }
                        key.push(*c);
                        i += 1;
                    }
                    segments.push(Segment::Key(key));
                    expect_key = false;
                }
                None => break,
            }
        }
        if segments.is_empty() || expect_key {
            return Err(err("the path is empty or ends with `.`"));
        }
        Ok(FieldPath {
            text: text.to_string(),
            segments,
        })
    }

    /// Every node the path reaches, with its concrete path (`[*]` replaced by the index).
    pub fn resolve<'a>(&self, root: &'a Node) -> Vec<(String, &'a Node)> {
        let mut current: Vec<(String, &'a Node)> = vec![(String::new(), root)];
        for seg in &self.segments {
            let mut next = Vec::new();
            for (path, node) in current {
                match seg {
                    Segment::Key(k) => {
                        if let Some(child) = node.get(k) {
                            let p = if path.is_empty() {
                                k.clone()
                            } else if k.contains(['.', '/', '[']) {
                                format!("{path}[\"{k}\"]")
                            } else {
                                format!("{path}.{k}")
                            };
                            next.push((p, child));
                        }
                    }
                    Segment::Index(n) => {
                        if let Some(child) = node.as_seq().get(*n) {
                            next.push((format!("{path}[{n}]"), child));
                        }
                    }
                    Segment::AnyItem => {
                        for (n, child) in node.as_seq().iter().enumerate() {
                            next.push((format!("{path}[{n}]"), child));
                        }
                    }
                }
            }
            current = next;
        }
        current
    }
}

impl<'de> Deserialize<'de> for FieldPath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        FieldPath::parse(&s).map_err(de::Error::custom)
    }
}

fn literal_matches(lit: &Literal, node: &Node) -> bool {
    match (lit, &node.value) {
        (Literal::Bool(b), Value::Bool(v)) => b == v,
        (Literal::Int(i), _) => node.as_int() == Some(i128::from(*i)),
        (Literal::Float(f), Value::Float(v)) => f == v,
        (Literal::Float(f), Value::Int(v)) => *f == *v as f64,
        (Literal::Str(s), Value::Str(v)) => s == v,
        _ => false,
    }
}

/// A violation of a custom rule inside one object.
#[derive(Debug, Clone)]
pub struct CustomHit<'a> {
    /// Concrete path of the value (the location key for the old/new comparison).
    pub path: String,
    /// The value, or the object root when the violation is an absent field.
    pub node: &'a Node,
    pub value: Option<String>,
}

/// Evaluates one custom rule on one object's root.
pub fn evaluate<'a>(rule: &CustomRule, root: &'a Node) -> Vec<CustomHit<'a>> {
    let found = rule.field.resolve(root);
    if rule.exists == Some(false) {
        // The violation is the field's absence; other matchers make no sense here.
        return if found.is_empty() {
            vec![CustomHit {
                path: format!("absent:{}", rule.field.text),
                node: root,
                value: None,
            }]
        } else {
            Vec::new()
        };
    }
    found
        .into_iter()
        .filter(|(_, node)| {
            let eq = rule
                .equals
                .as_ref()
                .is_none_or(|l| literal_matches(l, node));
            let one = rule
                .one_of
                .as_ref()
                .is_none_or(|ls| ls.iter().any(|l| literal_matches(l, node)));
            let pat = rule.pattern.as_ref().is_none_or(|p| match &node.value {
                Value::Str(s) => p.0.is_match(s),
                Value::Int(_) | Value::Float(_) | Value::Bool(_) => p.0.is_match(&node.display()),
                _ => false,
            });
            // `exists = true` alone, or no matcher at all: presence is the violation.
            eq && one && pat && !node.is_null()
        })
        .map(|(path, node)| CustomHit {
            value: Some(node.display()),
            path,
            node,
        })
        .collect()
}
