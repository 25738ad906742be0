// Faultline's crash-report dialog, served by /api/embed/error-page/ to the JS SDK's showReportDialog. It
// shows a form over the page and posts it back to the URL it was loaded from. Everything the user or the
// page supplies is set as text, never as HTML.
(function () {
  'use strict';
  var options = __FAULTLINE_OPTIONS__;
  var script = document.currentScript;
  var endpoint = script && script.src;
  if (!endpoint || document.getElementById('faultline-report-dialog')) return;

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    if (text) node.textContent = text;
    return node;
  }
  function field(label, name, value, tag) {
    var wrap = element('label', { style: 'display:block;margin:0 0 .8em' }, label);
    var input = element(tag || 'input', { name: name, id: 'faultline-report-' + name, style: 'display:block;width:100%;box-sizing:border-box;margin-top:.2em;padding:.4em' });
    if (value) input.value = value;
    wrap.appendChild(input);
    return wrap;
  }
  function close() {
    overlay.remove();
    window.postMessage('__sentry_reportdialog_closed__', '*');
  }

  var overlay = element('div', { id: 'faultline-report-dialog', role: 'dialog', 'aria-modal': 'true', style: 'position:fixed;inset:0;background:rgba(0,0,0,.5);display:flex;align-items:center;justify-content:center;z-index:2147483647;font:15px system-ui,sans-serif' });
  var box = element('form', { style: 'background:#fff;color:#222;padding:1.5em;border-radius:6px;width:min(32em,90vw)' });
  box.appendChild(element('h2', { style: 'margin:0 0 .4em;font-size:1.3em' }, options.title));
  box.appendChild(element('p', { style: 'margin:0 0 1em;color:#555' }, 'Our team has been notified. If you would like to help, tell us what happened below.'));
  box.appendChild(field('Name', 'name', options.name));
  box.appendChild(field('Email', 'email', options.email));
  box.appendChild(field('What happened?', 'comments', '', 'textarea'));
  var status = element('p', { id: 'faultline-report-status', role: 'status', style: 'min-height:1.2em;color:#a00' });
  box.appendChild(status);
  var send = element('button', { type: 'submit', id: 'faultline-report-submit' }, 'Submit crash report');
  var cancel = element('button', { type: 'button', style: 'margin-left:.6em' }, 'Close');
  cancel.addEventListener('click', close);
  box.appendChild(send);
  box.appendChild(cancel);
  box.addEventListener('submit', function (event) {
    event.preventDefault();
    send.disabled = true;
    fetch(endpoint, { method: 'POST', body: new URLSearchParams(new FormData(box)) })
      .then(function (response) {
        if (!response.ok) return response.json().then(function (body) { throw new Error(body.detail || response.statusText); });
        box.replaceChildren(element('p', { id: 'faultline-report-thanks' }, 'Your feedback has been sent. Thank you!'));
        setTimeout(close, 3000);
      })
      .catch(function (error) {
        status.textContent = 'Could not send: ' + error.message;
        send.disabled = false;
      });
  });
  overlay.appendChild(box);
  document.body.appendChild(overlay);
})();
