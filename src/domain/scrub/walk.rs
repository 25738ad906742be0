//! Visits every piece of client-sent text in an event (fields, pairs, source lines and
//! databags), so value-based scrubbing cannot miss a field.

use serde_json::{Map, Value};

use crate::domain::event::{Breadcrumb, Event, Exception, Frame, Request, Stacktrace, Thread, User};

pub(super) trait TextVisitor {
    fn text(&mut self, text: &mut String);
    fn json(&mut self, value: &mut Value);
}

pub(super) fn visit_event(event: &mut Event, visitor: &mut impl TextVisitor) {
    let Event {
        logger,
        transaction,
        server_name,
        release,
        dist,
        environment,
        culprit,
        logentry,
        exception,
        threads,
        stacktrace,
        breadcrumbs,
        request,
        user,
        contexts,
        tags,
        extra,
        fingerprint,
        ..
    } = event;
    let scalars = [logger, transaction, server_name, release, dist, environment, culprit];
    optional_texts(visitor, scalars);
    if let Some(entry) = logentry {
        optional_texts(visitor, [&mut entry.message, &mut entry.formatted]);
        optional_json(visitor, &mut entry.params);
    }
    exception
        .iter_mut()
        .for_each(|exception| visit_exception(exception, visitor));
    threads.iter_mut().for_each(|thread| visit_thread(thread, visitor));
    visit_stacktrace(stacktrace, visitor);
    breadcrumbs
        .iter_mut()
        .for_each(|crumb| visit_breadcrumb(crumb, visitor));
    if let Some(request) = request {
        visit_request(request, visitor);
    }
    if let Some(user) = user {
        visit_user(user, visitor);
    }
    map_values(visitor, contexts);
    map_values(visitor, extra);
    tags.iter_mut().for_each(|(_, value)| visitor.text(value));
    fingerprint.iter_mut().for_each(|part| visitor.text(part));
}

fn visit_exception(exception: &mut Exception, visitor: &mut impl TextVisitor) {
    optional_texts(
        visitor,
        [&mut exception.ty, &mut exception.value, &mut exception.module],
    );
    if let Some(mechanism) = exception.mechanism.as_mut() {
        optional_texts(visitor, [&mut mechanism.description, &mut mechanism.help_link]);
        optional_json(visitor, &mut mechanism.data);
        optional_json(visitor, &mut mechanism.meta);
    }
    visit_stacktrace(&mut exception.stacktrace, visitor);
}

fn visit_thread(thread: &mut Thread, visitor: &mut impl TextVisitor) {
    optional_texts(visitor, [&mut thread.name]);
    visit_stacktrace(&mut thread.stacktrace, visitor);
}

fn visit_stacktrace(stacktrace: &mut Option<Stacktrace>, visitor: &mut impl TextVisitor) {
    let Some(stacktrace) = stacktrace else {
        return;
    };
    for frame in &mut stacktrace.frames {
        visit_frame(frame, visitor);
    }
    optional_json(visitor, &mut stacktrace.registers);
}

fn visit_frame(frame: &mut Frame, visitor: &mut impl TextVisitor) {
    let texts = [
        &mut frame.filename,
        &mut frame.abs_path,
        &mut frame.function,
        &mut frame.raw_function,
        &mut frame.module,
        &mut frame.package,
        &mut frame.context_line,
        &mut frame.symbol,
    ];
    optional_texts(visitor, texts);
    frame.pre_context.iter_mut().for_each(|line| visitor.text(line));
    frame.post_context.iter_mut().for_each(|line| visitor.text(line));
    optional_json(visitor, &mut frame.vars);
}

fn visit_breadcrumb(crumb: &mut Breadcrumb, visitor: &mut impl TextVisitor) {
    optional_texts(visitor, [&mut crumb.category, &mut crumb.message]);
    optional_json(visitor, &mut crumb.data);
}

fn visit_request(request: &mut Request, visitor: &mut impl TextVisitor) {
    optional_texts(visitor, [&mut request.url, &mut request.fragment]);
    for pairs in [&mut request.headers, &mut request.query_string, &mut request.cookies] {
        pairs.iter_mut().for_each(|(_, value)| visitor.text(value));
    }
    optional_json(visitor, &mut request.data);
    map_values(visitor, &mut request.env);
}

fn visit_user(user: &mut User, visitor: &mut impl TextVisitor) {
    let texts = [
        &mut user.id,
        &mut user.email,
        &mut user.username,
        &mut user.name,
        &mut user.segment,
    ];
    optional_texts(visitor, texts);
    optional_json(visitor, &mut user.geo);
    optional_json(visitor, &mut user.data);
}

fn optional_texts<'a>(visitor: &mut impl TextVisitor, texts: impl IntoIterator<Item = &'a mut Option<String>>) {
    texts.into_iter().flatten().for_each(|text| visitor.text(text));
}

fn optional_json(visitor: &mut impl TextVisitor, value: &mut Option<Value>) {
    if let Some(value) = value {
        visitor.json(value);
    }
}

fn map_values(visitor: &mut impl TextVisitor, map: &mut Map<String, Value>) {
    map.values_mut().for_each(|value| visitor.json(value));
}
