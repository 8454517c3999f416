// The demo's signup page. Each file is one raw string literal whose delimiter names the file, so
// that tests/serve/dev_api_server.py can read the same bytes out of this source.
#include "serve/demo_page.hpp"

namespace veribind::serve {
namespace {

constexpr std::string_view kIndexHtml = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign up — veribind demo</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/demo.css">
<script src="/demo.js" defer></script>
</head>
<body>
<main>
  <h1>Create an account</h1>
  <p class="lead">Prove that you control a phone number or an email address with a one-time code,
    and your new account is bound to it.</p>
  <section class="card" aria-label="Sign up">
    <p id="status" class="status" aria-live="polite"></p>
    <form id="start-form" novalidate>
      <fieldset>
        <legend>Send the code by</legend>
        <div class="choices">
          <label class="choice"><input type="radio" name="channel" id="channel-sms" value="sms"
            checked> SMS</label>
          <label class="choice"><input type="radio" name="channel" id="channel-email"
            value="email"> Email</label>
        </div>
      </fieldset>
      <label for="to" id="to-label">Phone number</label>
      <input id="to" name="to" type="tel" autocomplete="tel" inputmode="tel" required
        aria-describedby="to-hint">
      <p id="to-hint" class="hint">International format, for example +923001234567.</p>
      <button id="send" type="submit">Send code</button>
    </form>
    <form id="code-form" novalidate hidden>
      <label for="code">Code</label>
      <input id="code" name="code" type="text" autocomplete="one-time-code" inputmode="numeric"
        pattern="[0-9]*" maxlength="10" required aria-describedby="status">
      <button id="verify" type="submit">Verify and create account</button>
    </form>
    <p id="error" class="error" role="alert"></p>
    <button id="restart" class="secondary" type="button" hidden>Start again</button>
  </section>
  <aside class="dev" aria-labelledby="dev-heading">
    <h2 id="dev-heading">Developer panel — demo mode only</h2>
    <p>The code is shown here only because this server runs in demo mode with no real SMS or email
      provider configured. A production server never shows codes.</p>
    <p id="dev-state" aria-live="polite">No code requested yet.</p>
    <p><code id="dev-code"></code></p>
  </aside>
</main>
</body>
</html>
)html";

constexpr std::string_view kDemoCss = R"css(*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
html { color-scheme: light; -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: #f3f4f6; color: #1f2328;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
main { max-width: 30rem; margin: 0 auto; padding: 2rem 1rem 3rem; }
h1 { font-size: 1.6rem; line-height: 1.2; margin: 0 0 .5rem; }
.lead { margin: 0 0 1.25rem; color: #4b5563; }
.card { background: #fff; border: 1px solid #d1d5db; border-radius: 12px; padding: 1.25rem; }
fieldset { border: 0; margin: 0 0 1rem; padding: 0; min-width: 0; }
legend, label[for] { display: block; font-weight: 600; margin-bottom: .4rem; padding: 0; }
.choices { display: flex; gap: .75rem; }
.choice {
  flex: 1; display: flex; align-items: center; gap: .5rem; cursor: pointer;
  padding: .6rem .75rem; border: 1px solid #d1d5db; border-radius: 8px;
}
.choice:has(input:checked) { border-color: #1d4ed8; background: #eff6ff; }
.choice input { margin: 0; width: 1.1rem; height: 1.1rem; accent-color: #1d4ed8; }
input[type=tel], input[type=email], input[type=text] {
  display: block; width: 100%; font: inherit; color: inherit; background: #fff;
  padding: .65rem .75rem; border: 1px solid #6b7280; border-radius: 8px;
}
#code { font-size: 1.5rem; letter-spacing: .3em; font-variant-numeric: tabular-nums; }
.hint { margin: .35rem 0 0; font-size: .9rem; color: #4b5563; }
button {
  display: block; width: 100%; margin-top: 1.25rem; padding: .7rem 1rem; cursor: pointer;
  font: inherit; font-weight: 600; color: #fff; background: #1d4ed8;
  border: 1px solid #1d4ed8; border-radius: 8px;
}
button:hover { background: #1e40af; }
button.secondary { color: #1d4ed8; background: #fff; margin-top: .75rem; }
button.secondary:hover { background: #eff6ff; }
button:disabled { opacity: .6; cursor: progress; }
:focus-visible { outline: 3px solid #1d4ed8; outline-offset: 2px; }
input:focus-visible { border-color: #1d4ed8; }
.status, .error { margin: 0; border-radius: 8px; overflow-wrap: anywhere; }
.status:not(:empty) {
  margin-bottom: 1rem; padding: .75rem; background: #eff6ff; border: 1px solid #bfdbfe;
}
.status.done { background: #ecfdf5; border-color: #a7f3d0; color: #065f46; }
.error:not(:empty) {
  margin-top: 1rem; padding: .75rem; background: #fef2f2; border: 1px solid #fecaca;
  color: #991b1b;
}
.dev {
  margin-top: 1.5rem; padding: 1rem 1.25rem; background: #fffbeb;
  border: 2px dashed #b45309; border-radius: 12px;
}
.dev h2 { font-size: 1rem; margin: 0 0 .5rem; color: #92400e; }
.dev p { margin: .4rem 0 0; font-size: .9rem; }
#dev-code { font: 700 1.75rem/1.2 ui-monospace, Menlo, Consolas, monospace; letter-spacing: .15em; }
)css";

constexpr std::string_view kDemoJs = R"js('use strict';
// The signup flow against the demo API: start a verification, check its code by binding a new
// account, and (demo only) read the code from /demo/codes/{id}. Text from the server is only ever
// set as textContent.
const $ = (id) => document.getElementById(id);
const startForm = $('start-form'), codeForm = $('code-form'), toInput = $('to');
const codeInput = $('code'), statusBox = $('status'), errorBox = $('error');
const restart = $('restart'), devState = $('dev-state'), devCode = $('dev-code');
const NOUN = { sms: 'phone number', email: 'email address' };
const WANTED = { sms: 'email addresses', email: 'phone numbers' };
let verification = null, accountId = '', otpAbort = null, pollRun = 0;

const channel = () => startForm.elements.channel.value;

function newAccountId() {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return 'demo-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// A sentence a person can act on, for each error code the flow can meet.
function sentence(error, ch) {
  const code = error.code || '';
  if (code === 'invalid_or_expired_code') return 'That code is wrong or has expired.';
  if (code === 'already_bound') return `This ${NOUN[ch]} is already bound to another account.`;
  if (code === 'wrong_channel') {
    return `This server binds accounts to ${WANTED[ch]} only: choose the other channel.`;
  }
  if (code === 'rate_limited' || code === 'resend_too_soon') {
    return 'Too many attempts for now. Wait a few minutes, then try again.';
  }
  if (code === 'network') return 'The server could not be reached. Try again.';
  if (code.startsWith('phone_')) return `That phone number cannot receive codes: ${error.message}`;
  if (code.startsWith('email_')) return `That email address cannot be used: ${error.message}`;
  return `${error.message || 'Something went wrong.'} (${code || 'error'})`;
}

async function post(path, body) {
  let response;
  try {
    response = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch {
    throw { code: 'network' };
  }
  const data = await response.json().catch(() => null);
  if (response.ok && data) return data;
  throw (data && data.error) || { code: `http_${response.status}`,
    message: `The server answered HTTP ${response.status}.` };
}

function setBusy(form, busy) {
  form.querySelector('button').disabled = busy;
  form.setAttribute('aria-busy', String(busy));
}

function showError(error) {
  errorBox.textContent = error ? sentence(error, channel()) : '';
}

function stopWaiting() {
  pollRun += 1;
  if (otpAbort) otpAbort.abort();
  otpAbort = null;
}

// WebOTP: where the browser offers it, an SMS that carries this origin's code line fills the field.
function listenForSms() {
  if (!('OTPCredential' in window) || channel() !== 'sms') return;
  otpAbort = new AbortController();
  navigator.credentials.get({ otp: { transport: ['sms'] }, signal: otpAbort.signal })
    .then((otp) => {
      if (!otp || !otp.code) return;
      codeInput.value = otp.code;
      codeForm.requestSubmit();
    })
    .catch(() => {});  // aborted, or no SMS arrived: the person types the code
}

// Demo only: poll for the code every 500 ms for up to 30 s.
function pollForCode(id) {
  const run = ++pollRun;
  const deadline = Date.now() + 30000;
  devState.textContent = 'Waiting for the code…';
  devCode.textContent = '';
  const tick = async () => {
    if (run !== pollRun) return;
    try {
      const response = await fetch(`/demo/codes/${encodeURIComponent(id)}`);
      if (run !== pollRun) return;
      if (response.status === 200) {
        const { code } = await response.json();
        if (run !== pollRun) return;
        devState.textContent = `Code for ${verification.to}:`;
        devCode.textContent = code;
        return;
      }
      if (response.status === 410) {
        const where = verification.channel === 'email' ? 'inbox' : 'phone';
        devState.textContent = `Sent by the configured provider: check the ${where}.`;
        return;
      }
    } catch {
      // the server may be restarting: keep trying until the deadline
    }
    if (Date.now() < deadline) setTimeout(tick, 500);
    else devState.textContent = 'No code arrived within 30 seconds: a limit (such as the wait between codes) may have refused this request; the server log says which.';
  };
  tick();
}

function chooseChannel() {
  const email = channel() === 'email';
  $('to-label').textContent = email ? 'Email address' : 'Phone number';
  $('to-hint').textContent = email ? 'For example name@example.com.'
                                   : 'International format, for example +923001234567.';
  toInput.type = email ? 'email' : 'tel';
  toInput.autocomplete = email ? 'email' : 'tel';
  toInput.inputMode = email ? 'email' : 'tel';
}

startForm.addEventListener('change', chooseChannel);

startForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const to = toInput.value.trim();
  if (!to) {
    errorBox.textContent = `Enter your ${NOUN[channel()]}.`;
    toInput.focus();
    return;
  }
  showError(null);
  setBusy(startForm, true);
  try {
    verification = await post('/demo/v1/verifications', { to, channel: channel() });
  } catch (error) {
    showError(error);
    toInput.focus();
    return;
  } finally {
    setBusy(startForm, false);
  }
  accountId = newAccountId();
  statusBox.className = 'status';
  statusBox.textContent = `We sent a code to ${verification.to}.`;
  startForm.hidden = true;
  codeForm.hidden = false;
  restart.hidden = false;
  codeInput.value = '';
  codeInput.focus();
  listenForSms();
  pollForCode(verification.id);
});

codeForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (otpAbort) otpAbort.abort();
  const code = codeInput.value.trim();
  if (!code) {
    errorBox.textContent = 'Enter the code.';
    codeInput.focus();
    return;
  }
  showError(null);
  setBusy(codeForm, true);
  let bound;
  try {
    bound = await post(`/demo/v1/accounts/${encodeURIComponent(accountId)}/bindings`,
                       { verification_id: verification.id, code });
  } catch (error) {
    showError(error);
    setBusy(codeForm, false);
    if (error.code === 'invalid_or_expired_code' || error.code === 'network') {
      codeInput.select();
      codeInput.focus();
    } else {
      restart.focus();
    }
    return;
  }
  setBusy(codeForm, false);
  stopWaiting();
  statusBox.className = 'status done';
  const noun = NOUN[bound.channel] || NOUN[verification.channel];
  statusBox.textContent = `Account ${bound.account_id} is bound to this ${noun}` +
                          ` (${bound.policy} policy).`;
  codeForm.hidden = true;
  restart.focus();
});

restart.addEventListener('click', () => {
  stopWaiting();
  verification = null;
  statusBox.className = 'status';
  statusBox.textContent = '';
  showError(null);
  devState.textContent = 'No code requested yet.';
  devCode.textContent = '';
  codeForm.hidden = true;
  restart.hidden = true;
  startForm.hidden = false;
  toInput.focus();
});

chooseChannel();
)js";

}  // namespace

std::optional<DemoAsset> demo_asset(std::string_view path) noexcept {
  if (path == "/") return DemoAsset{"text/html; charset=utf-8", kIndexHtml};
  if (path == "/demo.css") return DemoAsset{"text/css; charset=utf-8", kDemoCss};
  if (path == "/demo.js") return DemoAsset{"text/javascript; charset=utf-8", kDemoJs};
  return std::nullopt;
}

}  // namespace veribind::serve
