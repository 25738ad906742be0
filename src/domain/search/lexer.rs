//! Splits a search string into tokens: free text, and `key:value` filters whose values are not
//! interpreted yet. Works on characters, not bytes, so error positions match what the user sees.

use super::SearchError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token {
    pub negated: bool,
    pub body: TokenBody,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TokenBody {
    Text(String),
    Filter { key: String, values: Vec<Located> },
}

/// A value with the character position it starts at (its opening quote if quoted), so the
/// interpreter can point at the value it rejects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Located {
    pub text: String,
    pub position: usize,
}

pub(super) fn tokenize(input: &str) -> Result<Vec<Token>, SearchError> {
    let mut lexer = Lexer {
        chars: input.chars().collect(),
        pos: 0,
    };
    let mut tokens = Vec::new();
    while let Some(token) = lexer.next_token()? {
        tokens.push(token);
    }
    Ok(tokens)
}

fn error(position: usize, message: impl Into<String>) -> SearchError {
    SearchError {
        position,
        message: message.into(),
    }
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

fn ends_word(c: char) -> bool {
    c.is_whitespace()
}

fn ends_list_item(c: char) -> bool {
    c.is_whitespace() || c == ',' || c == ']'
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
}

impl Lexer {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn is_boundary_at(&self, index: usize) -> bool {
        self.chars.get(index).map_or(true, |c| c.is_whitespace())
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn next_token(&mut self) -> Result<Option<Token>, SearchError> {
        self.skip_whitespace();
        if self.peek().is_none() {
            return Ok(None);
        }
        // A lone `!` negates nothing, so it is searched for as text.
        let negated = self.peek() == Some('!') && !self.is_boundary_at(self.pos + 1);
        if negated {
            self.pos += 1;
        }
        let body = if self.peek() == Some('"') {
            let text = self.quoted()?;
            if text.text.is_empty() {
                return Err(error(text.position, "empty search term"));
            }
            TokenBody::Text(text.text)
        } else {
            self.filter_or_word()?
        };
        self.expect_boundary()?;
        Ok(Some(Token { negated, body }))
    }

    fn filter_or_word(&mut self) -> Result<TokenBody, SearchError> {
        let start = self.pos;
        let key_len = self.chars[start..].iter().take_while(|c| is_key_char(**c)).count();
        let colon = start + key_len;
        let is_filter = key_len > 0 && self.chars.get(colon) == Some(&':') && !self.starts_url_authority(colon + 1);
        if !is_filter {
            return Ok(TokenBody::Text(self.bare(ends_word).text));
        }
        let key: String = self.chars[start..colon].iter().collect();
        self.pos = colon + 1;
        let values = if self.peek() == Some('[') {
            self.list(&key)?
        } else {
            vec![self.value(&key, ends_word)?]
        };
        Ok(TokenBody::Filter { key, values })
    }

    /// `http://host/path` is a pasted URL, not a filter on an `http` tag.
    fn starts_url_authority(&self, index: usize) -> bool {
        self.chars.get(index..index + 2) == Some(&['/', '/'])
    }

    fn list(&mut self, key: &str) -> Result<Vec<Located>, SearchError> {
        let open = self.pos;
        self.pos += 1;
        let mut values = Vec::new();
        loop {
            self.skip_whitespace();
            if self.peek().is_none() {
                return Err(error(open, "unterminated list: missing \"]\""));
            }
            values.push(self.value(key, ends_list_item)?);
            self.skip_whitespace();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(']') => {
                    self.pos += 1;
                    return Ok(values);
                }
                Some(other) => {
                    return Err(error(
                        self.pos,
                        format!("expected \",\" or \"]\" in list, found \"{other}\""),
                    ))
                }
                None => return Err(error(open, "unterminated list: missing \"]\"")),
            }
        }
    }

    fn value(&mut self, key: &str, ends: fn(char) -> bool) -> Result<Located, SearchError> {
        let value = if self.peek() == Some('"') {
            self.quoted()?
        } else {
            self.bare(ends)
        };
        if value.text.is_empty() {
            return Err(error(value.position, format!("empty value for \"{key}\"")));
        }
        Ok(value)
    }

    fn bare(&mut self, ends: fn(char) -> bool) -> Located {
        let start = self.pos;
        while self.peek().is_some_and(|c| !ends(c)) {
            self.pos += 1;
        }
        Located {
            text: self.chars[start..self.pos].iter().collect(),
            position: start,
        }
    }

    /// Reads `"…"`, where `\"` and `\\` are escapes; any other backslash is kept as written so
    /// Windows paths can be pasted unchanged.
    fn quoted(&mut self) -> Result<Located, SearchError> {
        let open = self.pos;
        self.pos += 1;
        let mut text = String::new();
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                '"' => return Ok(Located { text, position: open }),
                '\\' if matches!(self.peek(), Some('"' | '\\')) => {
                    text.extend(self.peek());
                    self.pos += 1;
                }
                _ => text.push(c),
            }
        }
        Err(error(open, "unterminated quote"))
    }

    fn expect_boundary(&self) -> Result<(), SearchError> {
        match self.peek() {
            Some(c) if !c.is_whitespace() => Err(error(self.pos, format!("expected a space before \"{c}\""))),
            _ => Ok(()),
        }
    }
}
