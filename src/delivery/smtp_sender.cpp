#include "veribind/smtp_sender.hpp"

#include <sodium.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "delivery/internal/curl.hpp"
#include "delivery/internal/mime.hpp"
#include "delivery/internal/secret_file.hpp"

namespace veribind {

struct SmtpSender::Settings {
  std::string name;
  std::string url;  // scheme://host[:port]/helo_domain, as curl wants the EHLO name
  long use_ssl = CURLUSESSL_ALL;
  internal::Mailbox from;
  std::string username;
  SecretText password;
  internal::TransportOptions transport;
};

namespace {

Status bad(std::string_view field, std::string_view why) {
  return {ErrorCode::kInvalidConfig, std::string(field) + ": " + std::string(why)};
}

bool valid_helo(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.';
  });
}

// The upload: curl pulls the message through this, so the only copy is the SecretText.
struct Upload {
  std::string_view bytes;
  std::size_t offset = 0;
};

size_t read_upload(char* buffer, size_t size, size_t count, void* user) {
  auto* upload = static_cast<Upload*>(user);
  const std::size_t n = std::min(size * count, upload->bytes.size() - upload->offset);
  std::memcpy(buffer, upload->bytes.data() + upload->offset, n);
  upload->offset += n;
  return n;
}

AttemptResult refused(std::string detail) {
  AttemptResult r;
  r.result = AttemptClass::kPermanent;
  r.detail = std::move(detail);
  return r;
}

}  // namespace

SmtpSender::SmtpSender(std::unique_ptr<const Settings> settings) : settings_(std::move(settings)) {}

SmtpSender::~SmtpSender() = default;
std::string_view SmtpSender::name() const noexcept { return settings_->name; }

Result<std::unique_ptr<SmtpSender>> SmtpSender::create(SmtpConfig config) {
  if (config.name.empty()) return bad("name", "must not be empty");
  auto settings = std::make_unique<Settings>();
  auto url = internal::parse_url(config.url, "url");
  if (!url) return url.status();
  if (url->scheme == "smtps") {
    settings->use_ssl = CURLUSESSL_ALL;  // implied by the scheme; stated so it cannot change
  } else if (url->scheme == "smtp") {
    if (config.allow_plaintext) {
      if (!url->loopback) {
        return bad("allow_plaintext", "plain SMTP is allowed only to a loopback host");
      }
      settings->use_ssl = CURLUSESSL_NONE;
    }
  } else {
    return bad("url", "scheme must be smtp or smtps");
  }
  if (url->path != "/" || url->has_query) return bad("url", "must not have a path or query");
  if (!config.helo_domain.empty() && !valid_helo(config.helo_domain)) {
    return bad("helo_domain", "must be a host name");
  }
  settings->url = url->scheme + "://" + url->host + (url->port.empty() ? "" : ":" + url->port) +
                  "/" + config.helo_domain;

  auto from = internal::parse_mailbox(config.from);
  if (!from) return bad("from", "must be an address or \"Name <address>\"");
  settings->from = std::move(*from);

  if (config.username.empty() != config.password_file.empty()) {
    return bad(config.username.empty() ? "username" : "password_file",
               "username and password_file go together");
  }
  if (config.username.find_first_of("\r\n") != std::string::npos) {
    return bad("username", "must not hold a line break");
  }
  if (!config.password_file.empty()) {
    auto password = internal::read_secret_file(config.password_file, "password_file",
                                               internal::TrailingNewline::kStrip);
    if (!password) return password.status();
    settings->password = std::move(*password);
    settings->username = std::move(config.username);
  }
  settings->transport.timeouts = {config.connect_timeout, config.response_timeout,
                                  config.total_timeout};
  if (auto s = internal::check_timeouts(settings->transport.timeouts); !s) return s;
  settings->transport.ca_file = std::move(config.ca_file);
  settings->transport.protocols = "smtp,smtps";

  settings->name = std::move(config.name);
  return std::unique_ptr<SmtpSender>(new SmtpSender(std::move(settings)));
}

AttemptResult SmtpSender::deliver(const OutgoingMessage& message) {
  if (message.channel != Channel::kEmail) return refused("wrong channel");
  const Settings& s = *settings_;
  const std::string_view to = message.destination.reveal();
  auto raw = internal::build_message(
      s.from,
      {to, message.subject, message.text.reveal(), message.html.reveal(),
       std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now())});
  if (!raw) return refused("invalid message");

  // A fresh handle per attempt: deliver() shares nothing mutable between threads, and a reused
  // SMTP connection could carry one attempt's failure state into the next.
  internal::CurlEasy easy = internal::CurlEasy::make();
  internal::CurlList recipients;
  const std::string mail_from = "<" + s.from.address + ">";
  std::string rcpt;
  rcpt.reserve(to.size() + 3);
  rcpt.append("<").append(to).append(">");
  const bool listed = recipients.append(rcpt);
  sodium_memzero(rcpt.data(), rcpt.capacity());
  if (!easy || !listed) {
    AttemptResult r;
    r.detail = "out of memory";
    return r;
  }
  CURL* curl = easy.get();
  Upload upload{raw->reveal()};
  bool ok = internal::apply_transport(curl, s.transport);
  auto set = [&ok](CURLcode c) { ok = ok && c == CURLE_OK; };
  set(curl_easy_setopt(curl, CURLOPT_URL, s.url.c_str()));
  set(curl_easy_setopt(curl, CURLOPT_USE_SSL, s.use_ssl));
  set(curl_easy_setopt(curl, CURLOPT_MAIL_FROM, mail_from.c_str()));
  set(curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, recipients.get()));
  set(curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L));
  set(curl_easy_setopt(curl, CURLOPT_READFUNCTION, &read_upload));
  set(curl_easy_setopt(curl, CURLOPT_READDATA, &upload));
  set(curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE,
                       static_cast<curl_off_t>(upload.bytes.size())));
  if (!s.username.empty()) {
    // curl keeps its own copy of the password until the handle is cleaned up below.
    const std::string_view password = s.password.reveal();
    std::string copy(password);
    set(curl_easy_setopt(curl, CURLOPT_USERNAME, s.username.c_str()));
    set(curl_easy_setopt(curl, CURLOPT_PASSWORD, copy.c_str()));
    sodium_memzero(copy.data(), copy.capacity());
  }
  if (!ok) {
    AttemptResult r;
    r.detail = "curl option refused";
    return r;
  }
  const CURLcode code = curl_easy_perform(curl);
  long reply = 0;
  (void)curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply);
  if (code == CURLE_OPERATION_TIMEDOUT) {
    // The server stopped answering. Cleaning up the handle would send QUIT and wait up to another
    // response_timeout for the reply, past total_timeout: end the reading side first, so that
    // curl sees the end of the connection at once. (SHUT_RD: a write after it raises no SIGPIPE.)
    curl_socket_t socket = CURL_SOCKET_BAD;
    if (curl_easy_getinfo(curl, CURLINFO_ACTIVESOCKET, &socket) == CURLE_OK &&
        socket != CURL_SOCKET_BAD) {
      ::shutdown(socket, SHUT_RD);
    }
  }
  return internal::classify_smtp(code, reply);
}

}  // namespace veribind
