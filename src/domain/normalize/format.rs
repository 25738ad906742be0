//! Renders a log template with its parameters, as SDKs send them in `logentry` (§7.1): Python
//! `%s` / `%(name)s` styles first, then `{}` / `{0}` / `{name}` styles.

use serde_json::Value;

/// Output larger than this stops formatting (the caller caps messages at 8192 characters).
const MAX_OUTPUT_BYTES: usize = 64 * 1024;
const MAX_WIDTH: usize = 256;

/// The formatted message, or `None` when the template has no placeholders or does not fit the
/// parameters (then the raw template is shown instead).
pub(super) fn format_message(template: &str, params: &Value) -> Option<String> {
    if template.contains('%') {
        if let Some(text) = format_percent(template, params) {
            return Some(text);
        }
    }
    if template.contains('{') {
        return format_braces(template, params);
    }
    None
}

/// One parsed `%` directive.
struct Directive<'a> {
    name: Option<&'a str>,
    left_align: bool,
    zero_pad: bool,
    width: usize,
    precision: Option<usize>,
    conversion: char,
}

fn format_percent(template: &str, params: &Value) -> Option<String> {
    let mut output = String::with_capacity(template.len() + 32);
    let mut rest = template;
    let mut position = 0;
    let mut converted_any = false;
    while let Some(start) = rest.find('%') {
        output.push_str(&rest[..start]);
        rest = &rest[start + 1..];
        if let Some(after) = rest.strip_prefix('%') {
            output.push('%');
            rest = after;
            continue;
        }
        let (directive, after) = parse_directive(rest)?;
        rest = after;
        let argument = match directive.name {
            Some(name) => params.as_object()?.get(name)?,
            None => positional(params, &mut position)?,
        };
        render(&directive, argument, &mut output)?;
        converted_any = true;
        if output.len() > MAX_OUTPUT_BYTES {
            return Some(output);
        }
    }
    output.push_str(rest);
    converted_any.then_some(output)
}

/// `"%s" % "x"` works in Python, so a scalar parameter stands for a one-element list.
fn positional<'a>(params: &'a Value, position: &mut usize) -> Option<&'a Value> {
    let argument = match params {
        Value::Array(items) => items.get(*position),
        Value::Object(_) => None,
        scalar => (*position == 0).then_some(scalar),
    };
    *position += 1;
    argument
}

/// Parses `(name)flags width .precision length conversion` after a `%`.
fn parse_directive(text: &str) -> Option<(Directive<'_>, &str)> {
    let (name, mut rest) = match text.strip_prefix('(') {
        Some(inner) => {
            let end = inner.find(')')?;
            (Some(&inner[..end]), &inner[end + 1..])
        }
        None => (None, text),
    };
    let flags_end = rest
        .find(|c: char| !matches!(c, '-' | '+' | ' ' | '#' | '0'))
        .unwrap_or(rest.len());
    let flags = &rest[..flags_end];
    rest = &rest[flags_end..];
    let (width, after_width) = leading_number(rest);
    rest = after_width;
    let mut precision = None;
    if let Some(after_dot) = rest.strip_prefix('.') {
        let (digits, after_digits) = leading_number(after_dot);
        precision = Some(digits.min(MAX_WIDTH));
        rest = after_digits;
    }
    rest = rest.trim_start_matches(['h', 'l', 'L']);
    let conversion = rest.chars().next()?;
    if !"sdiurfFeEgGxXoca".contains(conversion) {
        return None;
    }
    let directive = Directive {
        name,
        left_align: flags.contains('-'),
        zero_pad: flags.contains('0'),
        width: width.min(MAX_WIDTH),
        precision,
        conversion,
    };
    Some((directive, &rest[conversion.len_utf8()..]))
}

fn leading_number(text: &str) -> (usize, &str) {
    let end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let number = text[..end].parse().unwrap_or(0);
    (number, &text[end..])
}

fn render(directive: &Directive<'_>, argument: &Value, output: &mut String) -> Option<()> {
    let text = match directive.conversion {
        's' | 'a' => python_str(argument),
        'r' => python_repr(argument),
        'd' | 'i' | 'u' => integer_of(argument)?.to_string(),
        'x' => format!("{:x}", integer_of(argument)?),
        'X' => format!("{:X}", integer_of(argument)?),
        'o' => format!("{:o}", integer_of(argument)?),
        'c' => char_of(argument)?.to_string(),
        'f' | 'F' => format!("{:.*}", directive.precision.unwrap_or(6), float_of(argument)?),
        _ => python_str(&Value::from(float_of(argument)?)),
    };
    pad(directive, &text, output);
    Some(())
}

fn pad(directive: &Directive<'_>, text: &str, output: &mut String) {
    let missing = directive.width.saturating_sub(text.chars().count());
    let filler = if directive.zero_pad && !directive.left_align {
        '0'
    } else {
        ' '
    };
    if directive.left_align {
        output.push_str(text);
        output.extend(std::iter::repeat(filler).take(missing));
    } else if filler == '0' && text.starts_with('-') {
        output.push('-');
        output.extend(std::iter::repeat(filler).take(missing));
        output.push_str(&text[1..]);
    } else {
        output.extend(std::iter::repeat(filler).take(missing));
        output.push_str(text);
    }
}

/// Python's `str()` of a JSON value.
fn python_str(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        other => other.to_string(),
    }
}

fn python_repr(value: &Value) -> String {
    match value {
        Value::String(text) if text.contains('\'') && !text.contains('"') => {
            format!("\"{}\"", text.replace('\\', "\\\\"))
        }
        Value::String(text) => format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'")),
        other => python_str(other),
    }
}

fn integer_of(value: &Value) -> Option<i128> {
    match value {
        Value::Number(number) => number
            .as_i64()
            .map(i128::from)
            .or_else(|| number.as_u64().map(i128::from))
            .or_else(|| number.as_f64().map(|float| float.trunc() as i128)),
        Value::Bool(flag) => Some(i128::from(*flag)),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn float_of(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::Bool(flag) => Some(f64::from(u8::from(*flag))),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn char_of(value: &Value) -> Option<char> {
    match value {
        Value::String(text) => text.chars().next(),
        other => u32::try_from(integer_of(other)?).ok().and_then(char::from_u32),
    }
}

/// `{}`, `{0}` and `{name}` placeholders (`{{` / `}}` escape braces; format specs are ignored).
fn format_braces(template: &str, params: &Value) -> Option<String> {
    let mut output = String::with_capacity(template.len() + 32);
    let mut rest = template;
    let mut position = 0;
    let mut converted_any = false;
    while let Some(start) = rest.find(['{', '}']) {
        output.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let brace = &rest[start..=start];
        if after.starts_with(brace) {
            output.push_str(brace);
            rest = &after[1..];
            continue;
        }
        if brace == "}" {
            return None;
        }
        let end = after.find('}')?;
        let field = after[..end].split([':', '!']).next().unwrap_or_default();
        let argument = brace_argument(field, params, &mut position)?;
        output.push_str(&python_str(argument));
        converted_any = true;
        rest = &after[end + 1..];
        if output.len() > MAX_OUTPUT_BYTES {
            return Some(output);
        }
    }
    output.push_str(rest);
    converted_any.then_some(output)
}

fn brace_argument<'a>(field: &str, params: &'a Value, position: &mut usize) -> Option<&'a Value> {
    if field.is_empty() {
        return positional(params, position);
    }
    match field.parse::<usize>() {
        Ok(index) => params.as_array()?.get(index),
        Err(_) => params.as_object()?.get(field),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn format(template: &str, params: Value) -> Option<String> {
        format_message(template, &params)
    }

    #[test]
    fn python_positional_directives() {
        let text = format("%s took %d ms (%i%%), %r", json!(["job", 12.7, "3", "x'y"]));
        assert_eq!(text.as_deref(), Some("job took 12 ms (3%), \"x'y\""));
        assert_eq!(format("%r", json!(["it's \"q\""])).as_deref(), Some(r#"'it\'s "q"'"#));
    }

    #[test]
    fn python_named_directives() {
        let text = format("%(user)s has %(n)05.1f", json!({"user": "ann", "n": 2.25}));
        assert_eq!(text.as_deref(), Some("ann has 002.2"));
    }

    #[test]
    fn python_str_of_json_scalars() {
        let text = format("%s %s %s", json!([null, true, 1.5]));
        assert_eq!(text.as_deref(), Some("None True 1.5"));
    }

    #[test]
    fn width_and_alignment() {
        assert_eq!(
            format("[%5s|%-3d|%03d]", json!(["ab", 7, -4])).as_deref(),
            Some("[   ab|7  |-04]")
        );
        assert_eq!(format("%x %o %c", json!([255, 8, 65])).as_deref(), Some("ff 10 A"));
    }

    #[test]
    fn mismatched_parameters_give_none() {
        assert_eq!(format("%s %s", json!(["one"])), None);
        assert_eq!(format("%d", json!(["abc"])), None);
        assert_eq!(format("%(missing)s", json!({"x": 1})), None);
        assert_eq!(format("100%", json!(["x"])), None);
        assert_eq!(format("%q", json!(["x"])), None);
    }

    #[test]
    fn scalar_params_stand_for_one_argument() {
        assert_eq!(format("value=%s", json!(3)).as_deref(), Some("value=3"));
    }

    #[test]
    fn brace_placeholders() {
        assert_eq!(format("{} and {}", json!(["a", "b"])).as_deref(), Some("a and b"));
        assert_eq!(format("{1}{0} {{x}}", json!(["a", "b"])).as_deref(), Some("ba {x}"));
        assert_eq!(format("{user:>10}", json!({"user": "ann"})).as_deref(), Some("ann"));
        assert_eq!(format("{} {}", json!(["a"])), None);
        assert_eq!(format("{", json!(["a"])), None);
    }

    #[test]
    fn huge_widths_and_repetition_stay_bounded() {
        assert_eq!(format("%999999999d", json!([1])).unwrap().len(), MAX_WIDTH);
        let template = "%(a)s".repeat(2_000);
        let text = format(&template, json!({"a": "x".repeat(1_000)})).unwrap();
        assert!(text.len() <= MAX_OUTPUT_BYTES + 1_000);
    }
}
