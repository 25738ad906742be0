//! Per-platform cleanup of the names a frame groups by (§8.1): function, module and file basename,
//! so that generated identifiers, anonymous functions and URLs do not split issues.

use crate::domain::event::Frame;
use regex::Regex;
use std::sync::LazyLock;

/// The platform families whose frames get special treatment in §8.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlatformFamily {
    JavaScript,
    Python,
    Php,
    Ruby,
    Java,
    Native,
    CSharp,
    Other,
}

impl PlatformFamily {
    /// The frame's own platform wins over the event's (mixed stacks, e.g. JS calling native).
    pub fn of_frame(frame: &Frame, event_platform: &str) -> PlatformFamily {
        let platform = frame
            .platform
            .as_deref()
            .filter(|p| !p.is_empty())
            .unwrap_or(event_platform);
        PlatformFamily::from_platform(platform)
    }

    pub fn from_platform(platform: &str) -> PlatformFamily {
        match platform {
            "javascript" | "node" => PlatformFamily::JavaScript,
            "python" => PlatformFamily::Python,
            "php" => PlatformFamily::Php,
            "ruby" => PlatformFamily::Ruby,
            "java" => PlatformFamily::Java,
            "native" | "cocoa" | "objc" => PlatformFamily::Native,
            "csharp" => PlatformFamily::CSharp,
            _ => PlatformFamily::Other,
        }
    }

    /// Only scripting platforms ship reliable source lines (§8.1 `context-line`).
    pub fn groups_by_context_line(self) -> bool {
        matches!(
            self,
            PlatformFamily::JavaScript | PlatformFamily::Python | PlatformFamily::Php | PlatformFamily::Ruby
        )
    }
}

/// JavaScript names that carry no information about the code that ran.
const JS_ANONYMOUS_FUNCTIONS: &[&str] = &["?", "<anonymous>", "<anonymous function>", "Anonymous function"];

/// Java class-name parts generated at runtime (proxies, reflection, Clojure closures).
static JAVA_GENERATED_NAMES: LazyLock<[(Regex, &'static str); 4]> = LazyLock::new(|| {
    let compile = |pattern: &str| Regex::new(pattern).expect("java patterns are valid");
    [
        (
            compile(r"(\$\$(?:Enhancer|FastClass)By(?:Spring)?CGLIB\$\$)[0-9a-fA-F]+"),
            "${1}<auto>",
        ),
        (compile(r"(_\$\$_javassist_(?:seam_)?)\d+"), "${1}<auto>"),
        (compile(r"(\$fn__)\d+"), "${1}<auto>"),
        (
            compile(r"(Generated(?:Serialization)?(?:Method|Constructor)Accessor)\d+"),
            "${1}",
        ),
    ]
});

static RUBY_ERB_SUFFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"__\d{4,}_\d{4,}$").expect("erb pattern is valid"));

/// The function name that groups a frame, or `None` when it is missing or meaningless.
pub fn clean_function(frame: &Frame, family: PlatformFamily) -> Option<String> {
    // §8.1: C# symbolication puts the readable name in `raw_function`.
    let (first, second) = match family {
        PlatformFamily::CSharp => (&frame.raw_function, &frame.function),
        _ => (&frame.function, &frame.raw_function),
    };
    let name = non_empty(first).or_else(|| non_empty(second))?;
    if name == "?" {
        return None;
    }
    let cleaned = match family {
        PlatformFamily::JavaScript => clean_js_function(name)?,
        PlatformFamily::Ruby => clean_ruby_function(name),
        PlatformFamily::Php => clean_php_function(name)?,
        PlatformFamily::Java if name.starts_with("lambda$") => return None,
        PlatformFamily::Native if matches!(name, "<redacted>" | "<unknown>") => return None,
        _ => name.to_string(),
    };
    Some(cleaned).filter(|c| !c.is_empty())
}

fn clean_js_function(name: &str) -> Option<String> {
    if JS_ANONYMOUS_FUNCTIONS.contains(&name) || name.ends_with("/<") {
        return None;
    }
    // `Object.handleClick` and `HTMLButtonElement.handleClick` are the same code (§8.1).
    let method = name.rsplit('.').next().unwrap_or(name);
    if JS_ANONYMOUS_FUNCTIONS.contains(&method) {
        return None;
    }
    Some(method.to_string())
}

fn clean_ruby_function(name: &str) -> String {
    // `block in foo`, `block (2 levels) in foo` depend on nesting depth, not on the code.
    if name == "block" || name.starts_with("block ") {
        return "block".to_string();
    }
    RUBY_ERB_SUFFIX.replace(name, "").into_owned()
}

fn clean_php_function(name: &str) -> Option<String> {
    if name.starts_with("[Anonymous") {
        return None;
    }
    // Anonymous classes carry their file path and an address in the class name.
    if name.starts_with("class@anonymous") {
        return name.rsplit("::").next().map(str::to_string);
    }
    Some(name.to_string())
}

/// The module that groups a frame, or `None` when it is missing or must not contribute.
pub fn clean_module(frame: &Frame, family: PlatformFamily) -> Option<String> {
    let module = non_empty(&frame.module)?;
    match family {
        PlatformFamily::Java if module.contains("$$Lambda$") => None,
        PlatformFamily::Java => Some(clean_java_module(module)),
        // A JS module that merely repeats the path is as unstable as the path itself.
        PlatformFamily::JavaScript
            if module.contains('/') && frame.abs_path.as_deref().is_some_and(|p| p.ends_with(module)) =>
        {
            None
        }
        _ => Some(module.to_string()),
    }
}

fn clean_java_module(module: &str) -> String {
    JAVA_GENERATED_NAMES
        .iter()
        .fold(module.to_string(), |name, (pattern, replacement)| {
            pattern.replace_all(&name, *replacement).into_owned()
        })
}

/// The lowercased file basename, unless the file is a URL or a pseudo-file (§8.1 `filename`).
pub fn file_basename(frame: &Frame) -> Option<String> {
    let filename = non_empty(&frame.filename).or_else(|| non_empty(&frame.abs_path))?;
    let from_url = [frame.abs_path.as_deref(), Some(filename)]
        .into_iter()
        .flatten()
        .any(is_url);
    if from_url || matches!(filename, "<anonymous>" | "[native code]") {
        return None;
    }
    let basename = filename.rsplit(['/', '\\']).next().unwrap_or(filename);
    Some(basename.to_lowercase()).filter(|b| !b.is_empty())
}

/// Browser-served files (§8.1): their names usually embed build hashes.
pub fn is_url(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    ["http:", "https:", "blob:", "applewebdata:", "file:"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_with_function(name: &str) -> Frame {
        Frame {
            function: Some(name.to_string()),
            ..Frame::default()
        }
    }

    fn function_for(name: &str, family: PlatformFamily) -> Option<String> {
        clean_function(&frame_with_function(name), family)
    }

    #[test]
    fn javascript_functions_keep_only_the_method_name() {
        let js = PlatformFamily::JavaScript;
        assert_eq!(function_for("Object.handleClick", js).as_deref(), Some("handleClick"));
        assert_eq!(function_for("a.b.c.run", js).as_deref(), Some("run"));
    }

    #[test]
    fn javascript_anonymous_functions_do_not_contribute() {
        for name in ["?", "<anonymous>", "Anonymous function", "foo/<", "Object.<anonymous>"] {
            assert_eq!(function_for(name, PlatformFamily::JavaScript), None, "{name}");
        }
    }

    #[test]
    fn ruby_blocks_and_erb_suffixes_are_normalized() {
        let ruby = PlatformFamily::Ruby;
        assert_eq!(function_for("block (2 levels) in call", ruby).as_deref(), Some("block"));
        assert_eq!(
            function_for("_app_views_show_html_erb__1234567_89012345", ruby).as_deref(),
            Some("_app_views_show_html_erb")
        );
    }

    #[test]
    fn php_anonymous_classes_reduce_to_the_method() {
        let php = PlatformFamily::Php;
        assert_eq!(function_for("[Anonymous function]", php), None);
        assert_eq!(
            function_for("class@anonymous/app/x.php:12$0::handle", php).as_deref(),
            Some("handle")
        );
    }

    #[test]
    fn java_lambdas_and_native_placeholders_do_not_contribute() {
        assert_eq!(function_for("lambda$run$0", PlatformFamily::Java), None);
        assert_eq!(function_for("<redacted>", PlatformFamily::Native), None);
    }

    #[test]
    fn csharp_prefers_the_raw_function() {
        let frame = Frame {
            function: Some("Run".into()),
            raw_function: Some("App.Worker.Run(int)".into()),
            ..Frame::default()
        };
        assert_eq!(
            clean_function(&frame, PlatformFamily::CSharp).as_deref(),
            Some("App.Worker.Run(int)")
        );
        assert_eq!(clean_function(&frame, PlatformFamily::Python).as_deref(), Some("Run"));
    }

    #[test]
    fn java_generated_class_names_lose_their_random_parts() {
        let module = |name: &str| {
            let frame = Frame {
                module: Some(name.to_string()),
                ..Frame::default()
            };
            clean_module(&frame, PlatformFamily::Java)
        };
        assert_eq!(
            module("com.x.Foo$$EnhancerByCGLIB$$a1b2c3").as_deref(),
            Some("com.x.Foo$$EnhancerByCGLIB$$<auto>")
        );
        assert_eq!(
            module("com.x.Bar_$$_javassist_42").as_deref(),
            Some("com.x.Bar_$$_javassist_<auto>")
        );
        assert_eq!(module("my.ns$fn__1234").as_deref(), Some("my.ns$fn__<auto>"));
        assert_eq!(
            module("sun.reflect.GeneratedMethodAccessor123").as_deref(),
            Some("sun.reflect.GeneratedMethodAccessor")
        );
        assert_eq!(module("com.x.Foo$$Lambda$12/0x1234"), None);
    }

    #[test]
    fn url_filenames_do_not_contribute() {
        let frame = Frame {
            filename: Some("https://cdn.example.com/app.1a2b.js".into()),
            abs_path: Some("https://cdn.example.com/app.1a2b.js".into()),
            ..Frame::default()
        };
        assert_eq!(file_basename(&frame), None);
    }

    #[test]
    fn filenames_contribute_as_lowercased_basenames() {
        let frame = Frame {
            filename: Some("src\\Controllers\\HomeController.cs".into()),
            ..Frame::default()
        };
        assert_eq!(file_basename(&frame).as_deref(), Some("homecontroller.cs"));
    }
}
