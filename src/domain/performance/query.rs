//! Database span descriptions normalized for comparing and grouping: the same statement with other values
//! reads the same. String and number literals and every placeholder style (`?`, `$1`, `:name`, `%s`,
//! `%(name)s`) become `%s`, lists of them collapse to one (`IN (%s, %s, %s)` → `IN (%s)`), comments go (ORMs
//! put trace ids in them), whitespace runs become one space. Quoted identifiers (`"shop_book"`,
//! `` `log_2024` ``) are kept as they are, numbers inside them too. Keywords keep their case.

/// Longest normalized query kept, in characters.
const MAX_QUERY_CHARS: usize = 2_000;
/// What every literal and placeholder becomes.
const PLACEHOLDER: &str = "%s";

/// The normalized form of a database span's description.
pub fn normalize_query(sql: &str) -> String {
    let scanned = Scanner::new(sql).run();
    let collapsed = collapse_placeholder_lists(&scanned);
    collapsed.chars().take(MAX_QUERY_CHARS).collect()
}

/// Whether a normalized statement is a query rather than connection or transaction control (`connect`,
/// `BEGIN`, `COMMIT`, `SAVEPOINT`…), which repeats on every request without being anyone's N+1.
pub fn is_query(normalized: &str) -> bool {
    const CONTROL: &[&str] = &[
        "connect",
        "begin",
        "commit",
        "rollback",
        "savepoint",
        "release",
        "set",
        "start",
        "end",
        "show",
    ];
    let first = normalized.split([' ', ';']).next().unwrap_or_default();
    !first.is_empty() && !CONTROL.iter().any(|word| first.eq_ignore_ascii_case(word))
}

struct Scanner<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    out: String,
    /// The last character written was part of a word (letters, digits, `_`, `$`): a digit after it is
    /// part of a name (`table1`), not a number.
    in_word: bool,
}

impl<'a> Scanner<'a> {
    fn new(sql: &'a str) -> Scanner<'a> {
        Scanner {
            chars: sql.char_indices().peekable(),
            out: String::with_capacity(sql.len().min(MAX_QUERY_CHARS * 2)),
            in_word: false,
        }
    }

    fn run(mut self) -> String {
        while let Some((_, c)) = self.chars.next() {
            match c {
                c if c.is_whitespace() => self.space(),
                '\'' => self.literal('\''),
                '"' | '`' => self.quoted_identifier(c),
                '-' if self.next_is('-') => self.line_comment(),
                '/' if self.next_is('*') => self.block_comment(),
                '?' => self.placeholder(),
                '$' if !self.in_word && self.next_is_digit() => {
                    self.skip_while(|c| c.is_ascii_digit());
                    self.placeholder();
                }
                ':' if !self.out.ends_with(':') && self.next_is_name_start() => {
                    self.skip_while(|c| c.is_alphanumeric() || c == '_');
                    self.placeholder();
                }
                '%' if self.next_is('s') => {
                    self.chars.next();
                    self.placeholder();
                }
                '%' if self.next_is('(') => self.named_percent_placeholder(),
                c if c.is_ascii_digit() && !self.in_word => self.number(),
                c => self.push(c),
            }
        }
        self.out.trim_end().to_owned()
    }

    fn push(&mut self, c: char) {
        self.out.push(c);
        self.in_word = c.is_alphanumeric() || c == '_' || c == '$';
    }

    fn placeholder(&mut self) {
        self.out.push_str(PLACEHOLDER);
        self.in_word = false;
    }

    fn space(&mut self) {
        self.skip_while(char::is_whitespace);
        if !self.out.is_empty() && !self.out.ends_with(' ') {
            self.out.push(' ');
        }
        self.in_word = false;
    }

    fn next_is(&mut self, wanted: char) -> bool {
        self.chars.peek().is_some_and(|&(_, c)| c == wanted)
    }

    fn next_is_digit(&mut self) -> bool {
        self.chars.peek().is_some_and(|&(_, c)| c.is_ascii_digit())
    }

    fn next_is_name_start(&mut self) -> bool {
        self.chars.peek().is_some_and(|&(_, c)| c.is_alphabetic() || c == '_')
    }

    fn skip_while(&mut self, keep: impl Fn(char) -> bool) {
        while self.chars.next_if(|&(_, c)| keep(c)).is_some() {}
    }

    /// A string literal; a doubled quote inside it is an escaped quote.
    fn literal(&mut self, quote: char) {
        while let Some((_, c)) = self.chars.next() {
            if c == quote && !self.next_is(quote) {
                break;
            }
            if c == quote {
                self.chars.next();
            }
        }
        self.placeholder();
    }

    fn quoted_identifier(&mut self, quote: char) {
        self.out.push(quote);
        for (_, c) in self.chars.by_ref() {
            self.out.push(c);
            if c == quote {
                break;
            }
        }
        self.in_word = false;
    }

    fn line_comment(&mut self) {
        self.skip_while(|c| c != '\n');
        self.space();
    }

    fn block_comment(&mut self) {
        self.chars.next();
        let mut previous = ' ';
        for (_, c) in self.chars.by_ref() {
            if previous == '*' && c == '/' {
                break;
            }
            previous = c;
        }
        self.space();
    }

    /// `%(name)s`, Python's named placeholder.
    fn named_percent_placeholder(&mut self) {
        self.skip_while(|c| c != ')');
        self.chars.next();
        self.chars.next_if(|&(_, c)| c == 's');
        self.placeholder();
    }

    /// A number: digits, a fraction, an exponent, or a hex literal.
    fn number(&mut self) {
        self.skip_while(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
        self.placeholder();
    }
}

/// `(%s, %s, %s)` → `(%s)`: an `IN` list's length varies with the data, so it must not tell queries apart.
fn collapse_placeholder_lists(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(open) = rest.find('(') {
        out.push_str(&rest[..=open]);
        rest = &rest[open + 1..];
        let Some(close) = rest.find(')') else { break };
        let inside = &rest[..close];
        let all_placeholders = !inside.trim().is_empty() && inside.split(',').all(|item| item.trim() == PLACEHOLDER);
        if all_placeholders {
            out.push_str(PLACEHOLDER);
            rest = &rest[close..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_placeholders_become_one_placeholder() {
        assert_eq!(
            normalize_query("SELECT * FROM book WHERE id = 42 AND title = 'It''s' AND price > 9.5"),
            "SELECT * FROM book WHERE id = %s AND title = %s AND price > %s"
        );
        for sql in [
            "SELECT * FROM book WHERE id = ?",
            "SELECT * FROM book WHERE id = $1",
            "SELECT * FROM book WHERE id = :book_id",
            "SELECT * FROM book WHERE id = %s",
            "SELECT * FROM book WHERE id = %(book_id)s",
            "SELECT * FROM book WHERE id = 0x1F",
            "select * from book where id = 7",
        ] {
            assert!(
                normalize_query(sql).ends_with("WHERE id = %s") || normalize_query(sql).ends_with("where id = %s"),
                "{sql} → {}",
                normalize_query(sql)
            );
        }
    }

    #[test]
    fn django_queries_keep_their_quoted_names() {
        let django =
            "SELECT COUNT(*) AS \"__count\" FROM \"perfshop_review\" WHERE \"perfshop_review\".\"book_id\" = %s";
        assert_eq!(normalize_query(django), django);
        assert_eq!(
            normalize_query("SELECT \"t1\".\"a2\" FROM `log_2024` JOIN x ON t1.a2 = 3"),
            "SELECT \"t1\".\"a2\" FROM `log_2024` JOIN x ON t1.a2 = %s"
        );
    }

    #[test]
    fn lists_whitespace_and_comments_do_not_tell_queries_apart() {
        assert_eq!(
            normalize_query("SELECT *\n  FROM book\tWHERE id IN (1, 2,3) /* traceparent='00-ab' */ -- note\n"),
            "SELECT * FROM book WHERE id IN (%s)"
        );
        assert_eq!(
            normalize_query("SELECT * FROM book WHERE id IN ($1, $2)"),
            normalize_query("SELECT * FROM book WHERE id IN (?)")
        );
        assert_eq!(
            normalize_query("SELECT count(*), max(a) FROM t"),
            "SELECT count(*), max(a) FROM t"
        );
        assert_eq!(
            normalize_query("SELECT a::text FROM t"),
            "SELECT a::text FROM t",
            "a cast is no placeholder"
        );
    }

    #[test]
    fn unterminated_input_and_long_input_are_bounded() {
        assert_eq!(normalize_query("SELECT 'open"), "SELECT %s");
        assert_eq!(normalize_query("SELECT \"open"), "SELECT \"open");
        assert_eq!(normalize_query("SELECT /* open"), "SELECT");
        assert_eq!(normalize_query("WHERE id IN (%s"), "WHERE id IN (%s");
        let long = format!("SELECT {}", "a, ".repeat(5_000));
        assert_eq!(normalize_query(&long).chars().count(), MAX_QUERY_CHARS);
    }

    #[test]
    fn control_statements_are_not_queries() {
        for statement in [
            "connect",
            "BEGIN",
            "COMMIT",
            "ROLLBACK TO SAVEPOINT s1",
            "SET search_path = x",
            "",
        ] {
            assert!(!is_query(&normalize_query(statement)), "{statement}");
        }
        assert!(is_query("SELECT %s"));
        assert!(is_query("UPDATE book SET title = %s"));
    }
}
