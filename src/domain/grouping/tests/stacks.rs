//! §8.4 vectors about frames: what in a stack splits an issue and what does not.

use super::*;

#[test]
fn line_numbers_do_not_split_an_issue() {
    let first = python_error("KeyError", "'id'", app_frames());
    let mut moved = app_frames();
    for (index, frame) in moved.iter_mut().enumerate() {
        frame.lineno = Some(100 + index as u64);
        frame.colno = Some(7);
        frame.abs_path = frame.abs_path.as_ref().map(|p| p.replace("/srv/app", "/opt/deploy-2"));
    }
    assert_same_group(&first, &python_error("KeyError", "'id'", moved));
}

#[test]
fn library_frames_do_not_split_an_issue() {
    let with_library = |function: &str| {
        let mut library = frame("requests.api", function, true);
        library.abs_path = Some("/venv/lib/python3.11/site-packages/requests/api.py".into());
        let mut frames = app_frames();
        frames.push(library);
        frames.push(frame("urllib3.pool", function, false));
        python_error("ConnectionError", "refused", frames)
    };
    assert_same_group(&with_library("get"), &with_library("post"));
}

#[test]
fn a_different_crash_function_starts_a_new_issue() {
    let mut other = app_frames();
    other[1].function = Some("detail".into());
    assert_different_groups(
        &python_error("KeyError", "'id'", app_frames()),
        &python_error("KeyError", "'id'", other),
    );
}

#[test]
fn without_in_app_frames_identical_full_stacks_group_together() {
    let system = || vec![frame("lib.a", "call", false), frame("lib.b", "inner", false)];
    let mut moved = system();
    moved[0].lineno = Some(99);
    assert_same_group(
        &python_error("OSError", "x", system()),
        &python_error("OSError", "x", moved),
    );
}

#[test]
fn without_in_app_frames_any_differing_function_splits() {
    let system = || vec![frame("lib.a", "call", false), frame("lib.b", "inner", false)];
    let mut changed = system();
    changed[0].function = Some("dispatch".into());
    assert_different_groups(
        &python_error("OSError", "x", system()),
        &python_error("OSError", "x", changed),
    );
}

#[test]
fn the_exception_value_is_ignored_when_frames_contribute() {
    assert_same_group(
        &python_error("LookupError", "user 17 not found", app_frames()),
        &python_error("LookupError", "user 42 not found", app_frames()),
    );
}

#[test]
fn python_context_line_text_splits_an_issue() {
    let with_line = |line: &str| {
        let mut frames = app_frames();
        frames[1].context_line = Some(line.to_string());
        python_error("KeyError", "'id'", frames)
    };
    assert_different_groups(&with_line("return row['id']"), &with_line("return row['name']"));
}

#[test]
fn context_line_indentation_does_not_split_an_issue() {
    let with_line = |line: &str| {
        let mut frames = app_frames();
        frames[1].context_line = Some(line.to_string());
        python_error("KeyError", "'id'", frames)
    };
    assert_same_group(&with_line("    return  row['id']"), &with_line("\treturn row['id']  "));
}

fn js_frame(function: &str, filename: &str) -> Frame {
    Frame {
        function: Some(function.to_string()),
        filename: Some(filename.to_string()),
        abs_path: Some(filename.to_string()),
        context_line: Some("    submit(form);".into()),
        lineno: Some(1),
        colno: Some(2045),
        in_app: Some(true),
        ..Frame::default()
    }
}

fn js_error(frames: Vec<Frame>) -> Event {
    error_event("javascript", vec![exception("TypeError", "x is undefined", frames)])
}

#[test]
fn javascript_receiver_types_do_not_split_an_issue() {
    assert_same_group(
        &js_error(vec![js_frame("Object.handleClick", "/static/app.js")]),
        &js_error(vec![js_frame("HTMLButtonElement.handleClick", "/static/app.js")]),
    );
}

#[test]
fn javascript_build_hashes_in_script_urls_do_not_split_an_issue() {
    assert_same_group(
        &js_error(vec![js_frame("handleClick", "https://cdn.example.com/app.1a2b.js")]),
        &js_error(vec![js_frame("handleClick", "https://cdn.example.com/app.9f8e.js")]),
    );
}

#[test]
fn java_cglib_proxy_suffixes_do_not_split_an_issue() {
    let proxy_error = |class: &str| {
        let proxy = Frame {
            module: Some(class.to_string()),
            function: Some("save".into()),
            filename: Some("<generated>".into()),
            in_app: Some(true),
            ..Frame::default()
        };
        error_event(
            "java",
            vec![exception("java.lang.IllegalStateException", "x", vec![proxy])],
        )
    };
    assert_same_group(
        &proxy_error("com.x.Foo$$EnhancerByCGLIB$$a1b2c3"),
        &proxy_error("com.x.Foo$$EnhancerByCGLIB$$d4e5f6"),
    );
}

#[test]
fn a_different_inner_exception_type_splits_a_chain() {
    let chain = |inner: &str| {
        error_event(
            "python",
            vec![exception(inner, "cause", vec![]), exception("A", "outer", app_frames())],
        )
    };
    assert_different_groups(&chain("B"), &chain("C"));
}

#[test]
fn synthetic_exception_types_do_not_split_an_issue() {
    let crash = |ty: &str| {
        let mut exception = exception(ty, "Segfault", vec![frame("app.core", "parse", true)]);
        exception.mechanism = Some(Mechanism {
            synthetic: Some(true),
            ..Mechanism::default()
        });
        error_event("native", vec![exception])
    };
    assert_same_group(&crash("SIGSEGV"), &crash("EXC_BAD_ACCESS"));
}

#[test]
fn direct_recursion_depth_does_not_split_an_issue() {
    let recursive = |depth: usize| {
        let mut frames = vec![frame("app.main", "run", true)];
        frames.extend(std::iter::repeat(frame("app.tree", "walk", true)).take(depth));
        python_error("RecursionError", "too deep", frames)
    };
    assert_same_group(&recursive(3), &recursive(40));
}

/// `run → walk → visit → walk → visit …`, each copy of the cycle on its own line numbers.
fn cyclic_error(root: &str, cycle: &[&str], depth: usize, crash: &str) -> Event {
    let mut frames = vec![frame("app.main", root, true)];
    frames.extend(
        cycle
            .iter()
            .cycle()
            .take(cycle.len() * depth)
            .enumerate()
            .map(|(index, function)| {
                let mut step = frame("app.tree", function, true);
                step.lineno = Some(10 + index as u64);
                step
            }),
    );
    frames.push(frame("app.tree", crash, true));
    python_error("KeyError", "'x'", frames)
}

#[test]
fn recursion_depth_through_alternating_functions_does_not_split_an_issue() {
    let alternating = |depth| cyclic_error("run", &["walk", "visit"], depth, "lookup");
    assert_same_group(&alternating(2), &alternating(6));
    assert_same_group(&alternating(1), &alternating(13));
    let functions: Vec<String> = group(&alternating(6)).components[1..]
        .iter()
        .map(|line| line.split(" | ").nth(1).unwrap_or_default().to_string())
        .collect();
    assert_eq!(functions, ["run", "walk", "visit", "lookup"]);
}

#[test]
fn recursion_depth_through_three_functions_does_not_split_an_issue() {
    let cyclic = |depth| cyclic_error("run", &["walk", "visit", "enter"], depth, "lookup");
    assert_same_group(&cyclic(2), &cyclic(9));
}

#[test]
fn recursion_cycles_collapse_before_the_fifty_frame_cap() {
    let deep = |root: &str| cyclic_error(root, &["walk", "visit"], 40, "lookup");
    assert_different_groups(&deep("run"), &deep("start"));
}

#[test]
fn stacks_differing_after_a_shared_prefix_still_split() {
    let chain = |last: &str| {
        python_error(
            "KeyError",
            "'x'",
            vec![
                frame("app.a", "first", true),
                frame("app.b", "second", true),
                frame("app.c", last, true),
            ],
        )
    };
    assert_different_groups(&chain("third"), &chain("fourth"));
}

#[test]
fn only_the_last_fifty_frames_of_a_stack_contribute() {
    let deep = |root: &str| {
        let mut frames = vec![frame("app.main", root, true)];
        frames.extend((0..50).map(|i| frame("app.steps", &format!("step{i}"), true)));
        python_error("RuntimeError", "x", frames)
    };
    assert_same_group(&deep("run"), &deep("start"));
}

#[test]
fn an_exception_without_frames_uses_its_raising_threads_stack() {
    let with_thread = |function: &str| {
        let mut event = python_error("Panic", "boom", vec![]);
        event.exception[0].thread_id = Some(serde_json::json!(1));
        event.threads = vec![Thread {
            id: Some(serde_json::json!(1)),
            stacktrace: stack(vec![frame("app.worker", function, true)]),
            ..Thread::default()
        }];
        event
    };
    assert_different_groups(&with_thread("run"), &with_thread("stop"));
    assert_eq!(
        group(&with_thread("run")).components[1],
        "in-app frame: app.worker | run"
    );
}

#[test]
fn a_single_threads_stack_groups_an_event_without_exceptions() {
    let threaded = |function: &str, message: &str| Event {
        platform: "python".into(),
        threads: vec![Thread {
            stacktrace: stack(vec![frame("app.worker", function, true)]),
            ..Thread::default()
        }],
        ..message_event(None, Some(message))
    };
    assert_same_group(&threaded("run", "a"), &threaded("run", "b"));
    assert_different_groups(&threaded("run", "a"), &threaded("stop", "a"));
}

#[test]
fn the_legacy_stacktrace_groups_an_event_without_exceptions() {
    let legacy = |function: &str| Event {
        stacktrace: stack(vec![frame("app.worker", function, true)]),
        ..Event::default()
    };
    assert_different_groups(&legacy("run"), &legacy("stop"));
}
