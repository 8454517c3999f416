#!/usr/bin/python3
"""The signup page of `veribind serve --demo`, driven in a real browser (headless Chromium).

  browser_test.py --cli build/examples/cli/veribind [--screenshots DIR]
      starts two real servers on loopback, each with a fresh key and database in a temporary
      directory: one under the phone-linked policy (the phone flow), one under email-linked (the
      email flow, which phone-linked refuses with wrong_channel); stops them with SIGTERM and
      requires exit status 0.
  browser_test.py --base-url URL [--email-base-url URL]
      servers already running (the email flow needs an email-linked one).

What it checks: the phone signup at 390x844 (masked destination, focus on the code field, the
code from the developer panel, the bound message), a wrong code, a second signup with the same
number refused as already bound, the email signup at 1280x900; that every input has a label,
that keyboard focus has an outline, that nothing scrolls sideways, that every resource is from
the page's origin, that GET / sends a Content-Security-Policy, and that the browser logged no
script or security error. Exit status 0 on success, 1 with the failed check on stderr.
"""

import argparse
import pathlib
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

HERE = pathlib.Path(__file__).resolve().parent
PHONE = "+923001234567"
BOUND_RE = r"Account (demo-[0-9a-f]{{12}}) is bound to this {noun} \({policy} policy\)\."


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One server process on a free loopback port, with its output kept in a log file."""

    def __init__(self, name, argv_for_port, workdir):
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = pathlib.Path(workdir) / f"{name}.log"
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(argv_for_port(self.port), stdout=self.log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            self.wait_healthy()
        except Failure:
            self.process.kill()
            self.process.wait()
            self.log.close()
            raise

    def log_tail(self):
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")[-2000:]

    def wait_healthy(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise Failure(f"{self.name} server exited with status {self.process.returncode} "
                              f"before answering /healthz:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise Failure(f"{self.name} server did not answer GET /healthz with 200 within "
                      f"{timeout:.0f} s:\n{self.log_tail()}")

    def stop(self):
        """SIGTERM; returns the exit status (killed after 15 s, then None)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                self.log.close()
                return None
        self.log.close()
        return self.process.returncode


def cli_server(cli, workdir, policy):
    directory = pathlib.Path(workdir) / policy
    directory.mkdir()
    key = directory / "key"
    keygen = subprocess.run([cli, "keygen", "--key-file", str(key)], capture_output=True,
                            text=True)
    check(keygen.returncode == 0, f"veribind keygen failed ({keygen.returncode}):\n"
          f"{keygen.stdout}{keygen.stderr}")
    config = directory / "veribind.toml"
    config.write_text(f'[store]\ndb = "{directory / "v.db"}"\nkey_file = "{key}"\n\n'
                      f'[policy]\nlink = "{policy}"\n\n'
                      # The second signup with the same number comes seconds after the first:
                      # with the default 30 s cooldown its start would be refused (no code).
                      f'[verifier]\nresend_cooldown_seconds = 0\n')
    return Server(policy, lambda port: [cli, "serve", "--config", str(config), "--demo",
                                        "--listen", f"127.0.0.1:{port}"], workdir)


def start_browser(chromium="/usr/bin/chromium", chromedriver="/usr/bin/chromedriver"):
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--no-first-run", "--disable-extensions", "--disable-sync",
                 "--window-size=390,844"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(chromedriver), options=options)


def set_viewport(driver, width, height, mobile):
    driver.set_window_size(width, height)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1,
                            "mobile": mobile})


class Page:
    def __init__(self, driver, base_url):
        self.driver = driver
        self.base_url = base_url
        driver.get(base_url + "/")
        self.wait(lambda d: d.execute_script("return document.readyState") == "complete",
                  "the page did not finish loading")

    def wait(self, condition, message, timeout=10):
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(condition)
        except TimeoutException:
            raise Failure(f"{message} (after {timeout} s); status: {self.text('status')!r}, "
                          f"alert: {self.text('error')!r}, developer panel: "
                          f"{self.text('dev-state')!r}") from None

    def el(self, element_id):
        return self.driver.find_element(By.ID, element_id)

    def text(self, element_id):
        try:
            return self.el(element_id).text.strip()
        except Exception:  # noqa: BLE001 - only for failure messages
            return "?"

    def focused_id(self):
        return self.driver.execute_script("return document.activeElement.id")

    def type_into(self, element_id, value):
        field = self.el(element_id)
        field.clear()
        field.send_keys(value)

    def visible(self, element_id):
        return self.el(element_id).is_displayed()

    def check_structure(self):
        unlabelled = self.driver.execute_script(
            "return [...document.querySelectorAll('input, select, textarea')]"
            ".filter((e) => e.type !== 'hidden' && e.labels.length === 0"
            " && !e.getAttribute('aria-label')).map((e) => e.id || e.name);")
        check(not unlabelled, f"inputs without a label: {unlabelled}")
        code = self.el("code")
        for name, want in (("autocomplete", "one-time-code"), ("inputmode", "numeric"),
                           ("pattern", "[0-9]*"), ("maxlength", "10")):
            check(code.get_attribute(name) == want,
                  f"code field: {name}={code.get_attribute(name)!r}, expected {want!r}")
        check(self.el("error").get_attribute("role") == "alert", "the error element is no alert")
        check(self.el("status").get_attribute("aria-live") == "polite",
              "the status element is not aria-live=polite")
        heading = self.driver.find_element(By.CSS_SELECTOR, ".dev h2").text
        check(heading == "Developer panel — demo mode only", f"developer panel: {heading!r}")
        inline = self.driver.execute_script(
            "return document.querySelectorAll('[style], script:not([src]), style').length")
        check(inline == 0, f"{inline} inline script, style or style attribute(s)")

    def check_keyboard_focus_outline(self):
        self.el("to").click()
        self.el("to").send_keys(Keys.TAB)
        check(self.focused_id() == "send", f"Tab from the field went to {self.focused_id()!r}")
        outline = self.driver.execute_script(
            "const s = getComputedStyle(document.activeElement);"
            "return [s.outlineStyle, parseFloat(s.outlineWidth)];")
        check(outline[0] != "none" and outline[1] >= 2,
              f"no visible focus outline on the button: {outline}")

    def check_no_sideways_scroll(self, where):
        widths = self.driver.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth]")
        check(widths[0] <= widths[1],
              f"{where}: the page scrolls sideways (content {widths[0]} px, viewport {widths[1]})")

    def check_same_origin_only(self):
        names = self.driver.execute_script(
            "return performance.getEntriesByType('resource').map((e) => e.name)")
        foreign = [n for n in names if not n.startswith(self.base_url + "/")]
        check(not foreign, f"resources from another origin: {foreign}")
        check(any(n.endswith("/demo.css") for n in names) and
              any(n.endswith("/demo.js") for n in names),
              f"the page did not load /demo.css and /demo.js: {names}")

    def start(self, channel, to):
        self.el(f"channel-{channel}").click()
        self.type_into("to", to)
        self.el("send").click()
        self.wait(lambda d: self.visible("code") and
                  self.text("status").startswith("We sent a code to "),
                  f"no 'We sent a code to' after starting the {channel} verification")
        status = self.text("status")
        secret_part = to.split("@")[0] if channel == "email" else to[-7:-2]
        check(secret_part not in status,
              f"the destination is not masked: {status!r}")
        check(self.focused_id() == "code", f"focus is on {self.focused_id()!r}, not the code")
        return status

    def code_from_panel(self):
        return self.wait(lambda d: (re.fullmatch(r"[0-9]{4,10}", self.text("dev-code")) and
                                    self.text("dev-code")),
                         "the developer panel showed no code", timeout=35)

    def submit_code(self, code):
        self.type_into("code", code)
        self.el("verify").click()

    def expect_alert(self, sentence):
        self.wait(lambda d: self.text("error") == sentence,
                  f"the alert did not say {sentence!r}")

    def expect_bound(self, noun, policy):
        pattern = BOUND_RE.format(noun=noun, policy=policy)
        self.wait(lambda d: re.fullmatch(pattern, self.text("status")),
                  f"no bound message matching {pattern!r}")
        check(self.text("error") == "", f"an alert after binding: {self.text('error')!r}")
        check(self.focused_id() == "restart", f"focus after binding: {self.focused_id()!r}")
        return re.fullmatch(pattern, self.text("status")).group(1)


def wrong(code):
    return "".join(str((int(c) + 1) % 10) for c in code)


def console_problems(driver):
    """Browser log entries that mean a bug: script errors, CSP refusals, unexpected loads.

    The demo API answers 4xx by design (404 while a code is not there yet, 409/422 refusals),
    and Chromium logs every such fetch as a failed load: those, and only those, are allowed.
    """
    problems = []
    for entry in driver.get_log("browser"):
        message = entry.get("message", "")
        expected_refusal = (entry.get("source") == "network" and "/demo/" in message and
                            re.search(r"status of 4(04|09|10|22|00)", message))
        if entry.get("level") in ("SEVERE", "WARNING") and not expected_refusal:
            problems.append(f"{entry.get('level')} {entry.get('source')}: {message}")
    return problems


def check_page_headers(base_url):
    with urllib.request.urlopen(base_url + "/", timeout=5) as r:
        content_type = r.headers.get("Content-Type", "")
        csp = r.headers.get("Content-Security-Policy", "")
    check(content_type.startswith("text/html"), f"GET / Content-Type {content_type!r}")
    check("default-src 'self'" in csp, f"GET / Content-Security-Policy {csp!r}")


def phone_flow(driver, base_url, shots):
    set_viewport(driver, 390, 844, mobile=True)
    page = Page(driver, base_url)
    page.check_structure()
    check(driver.execute_script("return window.innerWidth") == 390, "the viewport is not 390 wide")
    page.check_keyboard_focus_outline()

    page.start("sms", PHONE)
    code = page.code_from_panel()
    page.submit_code(code)
    account = page.expect_bound("phone number", "phone-linked")
    page.check_no_sideways_scroll("phone flow at 390x844")
    if shots:
        driver.save_screenshot(str(shots / "signup-phone.png"))

    # A second signup with the same number: a wrong code first, then the right one, which the
    # server refuses because the number is bound already.
    page.el("restart").click()
    check(page.focused_id() == "to", f"focus after Start again: {page.focused_id()!r}")
    check(page.el("to").get_attribute("value") == PHONE, "Start again lost the number")
    check(page.text("status") == "" and page.text("error") == "", "Start again left messages")
    page.start("sms", PHONE)
    code = page.code_from_panel()
    page.submit_code(wrong(code))
    page.expect_alert("That code is wrong or has expired.")
    check(page.focused_id() == "code", f"focus after a wrong code: {page.focused_id()!r}")
    page.submit_code(code)
    page.expect_alert("This phone number is already bound to another account.")
    check(page.focused_id() == "restart", f"focus after already bound: {page.focused_id()!r}")
    check(account not in page.text("status"), "the refused signup shows the first account")
    page.check_no_sideways_scroll("already-bound error at 390x844")
    if shots:
        driver.save_screenshot(str(shots / "signup-already-bound.png"))
    page.check_same_origin_only()


def email_flow(driver, base_url, shots):
    set_viewport(driver, 1280, 900, mobile=False)
    page = Page(driver, base_url)
    page.check_structure()
    page.el("channel-email").click()
    check(page.text("to-label") == "Email address", f"label for email: {page.text('to-label')!r}")
    check(page.el("to").get_attribute("type") == "email", "the field is not type=email")
    address = f"signup-{secrets.token_hex(4)}@example.com"
    page.start("email", address)
    page.submit_code(page.code_from_panel())
    page.expect_bound("email address", "email-linked")
    page.check_no_sideways_scroll("email flow at 1280x900")
    if shots:
        driver.save_screenshot(str(shots / "signup-email.png"))
    page.check_same_origin_only()


def run(args, workdir):
    servers = []
    driver = None
    try:
        if args.cli:
            servers.append(cli_server(args.cli, workdir, "phone-linked"))
            servers.append(cli_server(args.cli, workdir, "email-linked"))
        phone_url = servers[0].url if servers else args.base_url.rstrip("/")
        email_url = servers[1].url if servers else (args.email_base_url or
                                                    args.base_url).rstrip("/")
        shots = pathlib.Path(args.screenshots).resolve() if args.screenshots else None
        if shots:
            shots.mkdir(parents=True, exist_ok=True)

        check_page_headers(phone_url)
        driver = start_browser(args.chromium, args.chromedriver)
        for name, flow, url in (("phone", phone_flow, phone_url),
                                ("email", email_flow, email_url)):
            try:
                flow(driver, url, shots)
            except Failure as failure:
                if shots:
                    driver.save_screenshot(str(shots / f"failed-{name}.png"))
                logs = "".join(f"\n--- {server.name} server log (last lines):\n{server.log_tail()}"
                               for server in servers)
                raise Failure(f"{name} flow: {failure}{logs}") from None
            problems = console_problems(driver)
            check(not problems, f"{name} flow: the browser logged:\n  " + "\n  ".join(problems))
            print(f"ok: {name} flow", flush=True)
    finally:
        if driver is not None:
            driver.quit()
        statuses = [(server, server.stop()) for server in servers]
    for server, status in statuses:
        check(status == 0, f"{server.name} server exited with status {status} after SIGTERM:\n"
              f"{server.log_tail()}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--cli", help="the veribind binary: start real servers")
    target.add_argument("--base-url", help="an already running server (phone-linked)")
    parser.add_argument("--email-base-url", help="with --base-url: an email-linked server")
    parser.add_argument("--screenshots", help="save PNGs in this directory")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="veribind-browser-") as workdir:
        try:
            run(args, workdir)
        except Failure as failure:
            print(f"FAIL: {failure}", file=sys.stderr)
            return 1
        except Exception as error:  # noqa: BLE001 - selenium or the OS: still one clear line
            print(f"FAIL: {type(error).__name__}: {error}", file=sys.stderr)
            return 1
    print("ok: browser test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
