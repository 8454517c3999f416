// `veribind serve` as a real child process on loopback, for the end-to-end tests: a directory
// with a master key, two API keys (verify and operator) and a veribind.toml; the server started
// on a free port (it prints {"listening":"127.0.0.1:PORT",...} on stderr once it accepts); its
// stderr drained all along into the request log, so the child never blocks on a full pipe; an
// HTTP client over libcurl (kept-alive connections), raw sockets for bytes no client would send;
// and the throwaway SMTP server and HTTPS SMS gateway of the delivery tests, whose received
// messages are where the codes are read from, as a user would read them.
#pragma once

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cli_support.hpp"
#include "delivery/servers.hpp"

extern char** environ;

namespace veribind::testing::serve {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Retries `ready` every 50 ms until it is true or `timeout` passes; true if it became true.
inline bool eventually(const std::function<bool()>& ready,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = Clock::now() + timeout;
  while (!ready()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

// The running `veribind serve`. Everything it writes on stdout and stderr is kept, line by line.
class ServeProcess {
 public:
  ServeProcess(const fs::path& cwd, const std::vector<std::string>& args) {
    int out[2];
    int err[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(err, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    std::string program = VERIBIND_CLI_PATH;
    std::vector<std::string> copies = args;
    std::vector<char*> argv{program.data()};
    for (std::string& arg : copies) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    ::close(err[1]);
    if (rc != 0) {
      ::close(out[0]);
      ::close(err[0]);
      pid_ = -1;
      FAIL("cannot start " << program);
    }
    drain_ = std::thread([this, o = out[0], e = err[0]] { drain(o, e); });

    // The port is known once the listening line is out (or the process gave up).
    std::string listening;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait_for(lock, std::chrono::seconds(20), [&] {
        for (const std::string& line : err_lines_) {
          if (line.find("\"listening\"") != std::string::npos) {
            listening = line;
            return true;
          }
        }
        return closed_;
      });
    }
    if (listening.empty()) {
      // The destructor does not run for an object that was never made: clean up here.
      const std::string written = stderr_text();
      abandon();
      FAIL("serve did not report its address; its stderr:\n" << written);
    }
    listening_ = json::parse(listening);
    const std::string address = listening_["listening"].get<std::string>();
    port_ = std::stoi(address.substr(address.rfind(':') + 1));
    REQUIRE(port_ > 0);
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;
  ~ServeProcess() { abandon(); }

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] const json& listening() const { return listening_; }

  // SIGTERM, then waits (at most `timeout`) for the process to exit; its exit status, or -1 if
  // it was still running (it is killed then) or died of a signal.
  int terminate(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    if (pid_ <= 0) return exit_status_;
    ::kill(pid_, SIGTERM);
    const auto deadline = Clock::now() + timeout;
    int status = 0;
    while (true) {
      const pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_) break;
      if (Clock::now() >= deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
        exit_status_ = -1;
        return exit_status_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = -1;
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (drain_.joinable()) drain_.join();
    return exit_status_;
  }

  // Every line written on stderr so far.
  [[nodiscard]] std::vector<std::string> stderr_lines() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return err_lines_;
  }
  [[nodiscard]] std::string stderr_text() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::string all;
    for (const std::string& line : err_lines_) all += line + "\n";
    return all + err_partial_;
  }
  [[nodiscard]] std::string stdout_text() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return out_;
  }

  // The request log: the stderr lines that are JSON objects with a "route", in order.
  [[nodiscard]] std::vector<json> request_log() const {
    std::vector<json> entries;
    for (const std::string& line : stderr_lines()) {
      json entry = json::parse(line, nullptr, false);
      if (entry.is_object() && entry.contains("route")) entries.push_back(std::move(entry));
    }
    return entries;
  }

  // Waits until the request log holds more than `after` entries and one of those newer entries
  // satisfies `match`; that entry, or nullopt after `timeout`. (A request's line is written once
  // its reply is, so it may come just after the client has the reply.)
  std::optional<json> wait_for_log(std::size_t after, const std::function<bool(const json&)>& match,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::optional<json> found;
    eventually(
        [&] {
          const std::vector<json> log = request_log();
          for (std::size_t i = after; i < log.size(); ++i) {
            if (match(log[i])) {
              found = log[i];
              return true;
            }
          }
          return false;
        },
        timeout);
    return found;
  }

 private:
  void abandon() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    if (drain_.joinable()) drain_.join();
  }

  void drain(int out_fd, int err_fd) {
    std::array<pollfd, 2> fds{{{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}}};
    int open_fds = 2;
    while (open_fds > 0) {
      if (::poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      for (std::size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].fd < 0 || fds[i].revents == 0) continue;
        char buffer[4096];
        const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
        if (n <= 0) {
          ::close(fds[i].fd);
          fds[i].fd = -1;
          --open_fds;
          continue;
        }
        std::lock_guard<std::mutex> lock(mutex_);
        if (i == 0) {
          out_.append(buffer, static_cast<std::size_t>(n));
        } else {
          err_partial_.append(buffer, static_cast<std::size_t>(n));
          std::size_t newline;
          while ((newline = err_partial_.find('\n')) != std::string::npos) {
            err_lines_.push_back(err_partial_.substr(0, newline));
            err_partial_.erase(0, newline + 1);
          }
        }
        changed_.notify_all();
      }
    }
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    changed_.notify_all();
  }

  pid_t pid_ = -1;
  int exit_status_ = -1;
  int port_ = 0;
  json listening_;
  std::thread drain_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> err_lines_;
  std::string err_partial_;
  std::string out_;
  bool closed_ = false;
};

// One HTTP reply.
struct Reply {
  long status = 0;
  std::string body;
  std::string content_type;
  std::string transport_error;  // curl's, when no reply came

  [[nodiscard]] json json_body() const {
    INFO("status " << status << ", body: " << body << transport_error);
    json parsed = json::parse(body, nullptr, false);
    REQUIRE(!parsed.is_discarded());
    return parsed;
  }
  // The error.code of the API's error shape, {"error":{"code":..,"message":..}}, checked whole.
  [[nodiscard]] std::string error_code() const {
    const json parsed = json_body();
    INFO("body: " << body);
    REQUIRE(parsed.is_object());
    REQUIRE(parsed.size() == 1);
    REQUIRE(parsed.contains("error"));
    REQUIRE(parsed["error"].is_object());
    REQUIRE(parsed["error"]["code"].is_string());
    REQUIRE(parsed["error"]["message"].is_string());
    return parsed["error"]["code"].get<std::string>();
  }
};

// An HTTP/1.1 client for one server, over one libcurl easy handle, so that its connection is
// kept alive between requests (and made again when the server closes it).
class HttpClient {
 public:
  explicit HttpClient(int port) : base_("http://127.0.0.1:" + std::to_string(port)) {
    static const bool initialised = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    REQUIRE(initialised);
    curl_ = curl_easy_init();
    REQUIRE(curl_ != nullptr);
  }
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  ~HttpClient() { curl_easy_cleanup(curl_); }

  // `key` is sent as "Authorization: Bearer <key>" unless empty. `headers` are extra lines.
  Reply request(const std::string& method, const std::string& path, const std::string& key = "",
                const std::optional<std::string>& body = std::nullopt,
                const std::string& content_type = "application/json",
                const std::vector<std::string>& headers = {}) {
    curl_easy_reset(curl_);
    Reply reply;
    curl_slist* list = nullptr;
    if (!key.empty()) list = curl_slist_append(list, ("Authorization: Bearer " + key).c_str());
    if (body) {
      // An empty value removes curl's default; "Expect:" stops curl waiting for 100-continue.
      list = curl_slist_append(list, ("Content-Type: " + content_type).c_str());
      list = curl_slist_append(list, "Expect:");
    }
    for (const std::string& header : headers) list = curl_slist_append(list, header.c_str());
    const std::string url = base_ + path;
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, 15000L);
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, list);
    if (body) {
      curl_easy_setopt(curl_, CURLOPT_POST, 1L);
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body->data());
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
    }
    if (method != "GET" && !(method == "POST" && body)) {
      curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &HttpClient::collect);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &reply.body);
    const CURLcode rc = curl_easy_perform(curl_);
    curl_slist_free_all(list);
    if (rc != CURLE_OK) {
      reply.transport_error = curl_easy_strerror(rc);
      return reply;
    }
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &reply.status);
    char* type = nullptr;
    curl_easy_getinfo(curl_, CURLINFO_CONTENT_TYPE, &type);
    if (type != nullptr) reply.content_type = type;
    return reply;
  }

  Reply get(const std::string& path, const std::string& key = "") {
    return request("GET", path, key);
  }
  Reply post(const std::string& path, const std::string& key, const json& body) {
    return request("POST", path, key, body.dump());
  }
  // A body sent as these exact bytes.
  Reply post_raw(const std::string& path, const std::string& key, const std::string& body,
                 const std::string& content_type = "application/json") {
    return request("POST", path, key, body, content_type);
  }

 private:
  static std::size_t collect(char* data, std::size_t size, std::size_t count, void* sink) {
    static_cast<std::string*>(sink)->append(data, size * count);
    return size * count;
  }

  std::string base_;
  CURL* curl_ = nullptr;
};

// What came back on a raw connection: the status line's code, the headers and the body.
struct RawReply {
  int status = 0;
  std::string head;
  std::string body;
  std::string all;

  [[nodiscard]] std::string error_code() const {
    Reply reply;
    reply.status = status;
    reply.body = body;
    return reply.error_code();
  }
};

// Whether `text` holds `secret`. A secret of digits only (a code, a national number) counts only
// where it stands alone, not inside a longer number or after a decimal point: a six-digit code
// would otherwise turn up by chance in the log's latencies or the metrics' sums.
inline bool holds(const std::string& text, const std::string& secret) {
  if (secret.empty()) return false;
  const bool digits = secret.find_first_not_of("0123456789") == std::string::npos;
  const auto numeric = [](char c) { return (c >= '0' && c <= '9') || c == '.'; };
  for (std::size_t at = text.find(secret); at != std::string::npos;
       at = text.find(secret, at + 1)) {
    if (!digits) return true;
    const bool starts_alone = at == 0 || !numeric(text[at - 1]);
    const std::size_t end = at + secret.size();
    const bool ends_alone = end == text.size() || !numeric(text[end]);
    if (starts_alone && ends_alone) return true;
  }
  return false;
}

inline std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// A TCP connection to 127.0.0.1:port, or -1.
inline int connect_loopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends `bytes` as they are and reads one reply: until its Content-Length is in, the server
// closes, or `timeout` passes. The connection is closed afterwards.
inline RawReply raw_exchange(int port, const std::string& bytes,
                             std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  RawReply reply;
  const int fd = connect_loopback(port);
  REQUIRE(fd >= 0);
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may refuse before reading everything
    sent += static_cast<std::size_t>(n);
  }
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    const std::size_t end = reply.all.find("\r\n\r\n");
    if (end != std::string::npos) {
      reply.head = reply.all.substr(0, end);
      const std::size_t length_at = lower(reply.head).find("\r\ncontent-length:");
      if (length_at != std::string::npos) {
        const std::size_t length = std::stoul(reply.head.substr(length_at + 17));
        if (reply.all.size() >= end + 4 + length) break;
      }
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buffer[4096];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    reply.all.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const std::size_t end = reply.all.find("\r\n\r\n");
  if (end != std::string::npos) {
    reply.head = reply.all.substr(0, end);
    reply.body = reply.all.substr(end + 4);
  }
  if (reply.all.rfind("HTTP/1.", 0) == 0 && reply.all.size() > 12) {
    reply.status = std::atoi(reply.all.c_str() + 9);
  }
  return reply;
}

// The first run of six digits in `text` after `marker` (or from the start when it is empty).
inline std::string six_digits_after(const std::string& text, const std::string& marker) {
  std::size_t at = marker.empty() ? 0 : text.find(marker);
  if (at == std::string::npos) return {};
  at = text.find_first_of("0123456789", at);
  if (at == std::string::npos || at + 6 > text.size()) return {};
  return text.substr(at, 6);
}

inline constexpr const char* kSmtpUser = "mailer";
inline constexpr const char* kSmtpPassword = "correct horse battery staple";

// The delivery world of one test: throwaway certificates, an SMTP server that requires STARTTLS
// and AUTH, and an HTTPS webhook gateway. Each received message is handed out once.
class Inboxes {
 public:
  explicit Inboxes(const testing::TempDir& dir)
      : certs_(dir), mail_(dir.file("mail")), sms_(dir.file("sms")), dir_(dir) {
    fs::create_directories(mail_);
    fs::create_directories(sms_);
    write_file(dir.file("smtp.password"), std::string(kSmtpPassword) + "\n", 0600);
    write_file(dir.file("hook.secret"), "0123456789abcdef0123456789abcdef", 0600);
    smtp_ = std::make_unique<ServerProcess>(std::vector<std::string>{
        kScripts + "/smtp_server.py", "--dir", mail_, "--tls-cert", certs_.cert(), "--tls-key",
        certs_.key(), "--user", kSmtpUser, "--password", kSmtpPassword});
    gateway_ = std::make_unique<ServerProcess>(std::vector<std::string>{
        kScripts + "/http_receiver.py", "--dir", sms_, "--tls-cert", certs_.cert(), "--tls-key",
        certs_.key(), "--secret-file", dir.file("hook.secret")});
  }

  // [delivery], [delivery.email] and (with `sms`) [delivery.sms] for these servers.
  [[nodiscard]] std::string toml(bool sms = true) const {
    const std::string email_only =
        "[delivery]\ninitial_backoff_ms = 20\nmax_backoff_ms = 50\n\n"
        "[delivery.email]\nname = \"mail-test\"\nurl = \"smtp://127.0.0.1:" +
        std::to_string(smtp_->port()) +
        "\"\nfrom = \"Example <no-reply@example.com>\"\nca_file = \"" + certs_.ca() +
        "\"\nusername = \"" + kSmtpUser + "\"\npassword_file = \"" + dir_.file("smtp.password") +
        "\"\n";
    if (!sms) return email_only;
    return email_only +
           "\n[delivery.sms]\ntype = \"webhook\"\nname = \"hook-test\"\n"
           "url = \"https://127.0.0.1:" +
           std::to_string(gateway_->port()) + "/hook\"\nsecret_file = \"" +
           dir_.file("hook.secret") + "\"\nca_file = \"" + certs_.ca() + "\"\n";
  }

  // The code of the next message to `address` that the SMTP server accepted (waiting for it at
  // most `timeout`), or "" if none came.
  std::string email_code(const std::string& address,
                         std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    std::string code;
    eventually(
        [&] {
          for (const fs::path& message : files_ending(mail_, ".eml")) {
            if (taken_.count(message.string()) != 0) continue;
            fs::path envelope = message;
            envelope.replace_extension(".env");
            if (lower(read_file(envelope)).find("to " + lower(address) + "\n") ==
                std::string::npos) {
              continue;
            }
            taken_.insert(message.string());
            code = six_digits_after(read_file(message), "code is");
            return true;
          }
          return false;
        },
        timeout);
    return code;
  }

  // The code of the next SMS to `e164` that the gateway received (signed by veribind), or "".
  std::string sms_code(const std::string& e164,
                       std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    std::string code;
    eventually(
        [&] {
          for (const fs::path& request : files_ending(sms_, ".json")) {
            if (taken_.count(request.string()) != 0) continue;
            const json received = json::parse(read_file(request), nullptr, false);
            if (webhook_to(received) != e164) continue;
            taken_.insert(request.string());
            if (received.value("verified", false)) {
              code = six_digits_after(received.at("json").value("text", ""), "");
            }
            return true;
          }
          return false;
        },
        timeout);
    return code;
  }

  // How many messages each server has received so far, handed out or not.
  [[nodiscard]] std::size_t emails_received() const { return files_ending(mail_, ".eml").size(); }
  [[nodiscard]] std::size_t sms_received() const { return files_ending(sms_, ".json").size(); }
  // Every SMS the gateway received for `e164`.
  [[nodiscard]] std::size_t sms_received_for(const std::string& e164) const {
    std::size_t count = 0;
    for (const fs::path& request : files_ending(sms_, ".json")) {
      if (webhook_to(json::parse(read_file(request), nullptr, false)) == e164) {
        ++count;
      }
    }
    return count;
  }

 private:
  // The destination of a webhook request the gateway recorded, or "".
  static std::string webhook_to(const json& received) {
    if (!received.is_object() || !received.contains("json")) return {};
    const json& body = received.at("json");
    return body.is_object() ? body.value("to", "") : "";
  }

  Certificates certs_;
  std::string mail_;
  std::string sms_;
  const testing::TempDir& dir_;
  std::unique_ptr<ServerProcess> smtp_;
  std::unique_ptr<ServerProcess> gateway_;
  std::set<std::string> taken_;
};

// What a test's server is configured with, beyond what every one has.
struct RigOptions {
  std::string db;  // [store] db; empty: an SQLite file in the directory
  std::string policy = "phone-linked";
  // Every request of a test comes from 127.0.0.1: the per-client limits are raised so that only
  // the tests that are about them meet them.
  std::string client_limits = "client_starts_per_window = 1000\nclient_checks_per_window = 1000\n";
  std::string verifier;  // more [verifier] lines
  std::string server;    // more [server] lines
  std::vector<std::string> serve_args;
  bool sms_provider = true;  // false: [delivery] has an email provider only
};

// A directory with the key, the API keys and veribind.toml, the delivery servers, and `veribind
// serve` running over them. The server is stopped (SIGTERM) by stop(), or killed when the rig is
// destroyed without it.
struct ServeRig {
  explicit ServeRig(RigOptions rig_options = {}) : options(std::move(rig_options)), inboxes(dir) {
    work = dir.file("work");
    fs::create_directories(work);
    key_file = work + "/veribind.key";
    api_keys = work + "/api-keys";
    {
      const auto keygen = cli::run_cli(work, {"keygen", "--key-file", key_file});
      INFO(keygen.out << keygen.err);
      REQUIRE(keygen.exit_code == 0);
    }
    std::tie(verify_id, verify_key) = create_key("verify");
    std::tie(operator_id, operator_key) = create_key("operator");

    const std::string db = options.db.empty() ? work + "/veribind.db" : options.db;
    config = work + "/veribind.toml";
    write_file(config,
               "[store]\ndb = \"" + db + "\"\nkey_file = \"" + key_file +
                   "\"\n\n[policy]\nlink = \"" + options.policy + "\"\n\n[verifier]\n" +
                   options.client_limits + options.verifier + "\n[server]\napi_keys = \"" +
                   api_keys + "\"\nthreads = 2\n" + options.server + "\n" +
                   inboxes.toml(options.sms_provider) + "\n[templates]\napp_name = \"Example\"\n",
               0600);
    start();
  }

  // Starts `veribind serve` (again, after stop()) and waits until /healthz answers 200.
  void start() {
    std::vector<std::string> args = {"serve", "--config", config, "--listen", "127.0.0.1:0"};
    args.insert(args.end(), options.serve_args.begin(), options.serve_args.end());
    server = std::make_unique<ServeProcess>(work, args);
    client = std::make_unique<HttpClient>(server->port());
    const bool healthy = eventually([&] { return client->get("/healthz").status == 200; });
    INFO("serve's stderr:\n" << server->stderr_text());
    REQUIRE(healthy);
  }

  // SIGTERM; the server must exit 0 within a few seconds.
  void stop() {
    client.reset();
    const int status = server->terminate(std::chrono::seconds(8));
    INFO("serve's stderr:\n" << server->stderr_text());
    CHECK(status == 0);
  }

  // A new client of the running server (its own connection).
  [[nodiscard]] std::unique_ptr<HttpClient> new_client() const {
    return std::make_unique<HttpClient>(server->port());
  }

  // Runs another `veribind` command in the rig's directory (it reads the rig's veribind.toml).
  [[nodiscard]] cli::Run veribind(const std::vector<std::string>& args) const {
    return cli::run_cli(work, args);
  }

  testing::TempDir dir;
  RigOptions options;
  Inboxes inboxes;
  std::string work;
  std::string key_file;
  std::string api_keys;
  std::string config;
  std::string verify_id;
  std::string verify_key;
  std::string operator_id;
  std::string operator_key;
  std::unique_ptr<ServeProcess> server;
  std::unique_ptr<HttpClient> client;

  // The id and the key of a new API key with `scope`.
  std::pair<std::string, std::string> create_key(const std::string& scope) const {
    const cli::Run made = cli::run_cli(work, {"apikey", "create", "--scope", scope, "--json",
                                              "--api-keys", api_keys, "--key-file", key_file});
    INFO(made.out << made.err);
    REQUIRE(made.exit_code == 0);
    const json key = cli::json_of(made);
    REQUIRE(key["scope"] == scope);
    REQUIRE(key["id"].is_string());
    REQUIRE(key["key"].is_string());
    return {key["id"].get<std::string>(), key["key"].get<std::string>()};
  }
};

}  // namespace veribind::testing::serve
