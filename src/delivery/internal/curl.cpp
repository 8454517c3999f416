#include "delivery/internal/curl.hpp"

#include <arpa/inet.h>
#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>
#include <utility>

namespace veribind::internal {

namespace {

constexpr std::chrono::milliseconds kMaxTimeout = std::chrono::minutes(10);
constexpr std::chrono::milliseconds kMaxRetryAfter = std::chrono::hours(24);

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Owns a CURLU and the strings curl_url_get hands out.
class CurlUrl {
 public:
  CurlUrl() : url_(curl_url()) {}
  CurlUrl(const CurlUrl&) = delete;
  CurlUrl& operator=(const CurlUrl&) = delete;
  ~CurlUrl() { curl_url_cleanup(url_); }
  [[nodiscard]] CURLU* get() const noexcept { return url_; }
  // False when the URL has no such part.
  bool part(CURLUPart which, std::string& out) const {
    char* value = nullptr;
    if (curl_url_get(url_, which, &value, 0) != CURLUE_OK || value == nullptr) return false;
    out = value;
    curl_free(value);
    return true;
  }

 private:
  CURLU* url_;
};

Status bad(std::string_view field, std::string_view why) {
  return {ErrorCode::kInvalidConfig, std::string(field) + ": " + std::string(why)};
}

Status check_one(std::chrono::milliseconds value, std::string_view field) {
  if (value <= std::chrono::milliseconds::zero()) return bad(field, "must be positive");
  if (value > kMaxTimeout) return bad(field, "must be at most 10 minutes");
  return Status::ok();
}

AttemptResult make(AttemptClass c, long code, std::string detail) {
  AttemptResult r;
  r.result = c;
  r.reply_code = static_cast<int>(code);
  r.detail = std::move(detail);
  return r;
}

// Transport failures common to SMTP and HTTP: TLS trust failures are permanent (retrying cannot
// make a wrong certificate right, and the message must never go out in clear instead); the rest
// are temporary because the network or the server may recover.
AttemptResult classify_transport(CURLcode code, long reply_code) {
  switch (code) {
    case CURLE_PEER_FAILED_VERIFICATION:
      return make(AttemptClass::kPermanent, 0, "certificate verify failed");
    case CURLE_SSL_CACERT_BADFILE: return make(AttemptClass::kPermanent, 0, "ca file unusable");
    case CURLE_USE_SSL_FAILED:
      return make(AttemptClass::kPermanent, reply_code, "starttls not offered");
    case CURLE_UNSUPPORTED_PROTOCOL:
      return make(AttemptClass::kPermanent, 0, "protocol not allowed");
    case CURLE_LOGIN_DENIED: return make(AttemptClass::kPermanent, reply_code, "login denied");
    case CURLE_OPERATION_TIMEDOUT: return make(AttemptClass::kTemporary, reply_code, "timeout");
    case CURLE_COULDNT_RESOLVE_HOST: return make(AttemptClass::kTemporary, 0, "host not resolved");
    case CURLE_COULDNT_CONNECT: return make(AttemptClass::kTemporary, 0, "connect failed");
    case CURLE_SSL_CONNECT_ERROR:
      return make(AttemptClass::kTemporary, reply_code, "tls handshake failed");
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_WEIRD_SERVER_REPLY:
      return make(AttemptClass::kTemporary, reply_code, "connection failed");
    default: return make(AttemptClass::kTemporary, reply_code, "transfer failed");
  }
}

size_t discard_body(char*, size_t size, size_t count, void*) { return size * count; }

}  // namespace

void ensure_curl() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Without curl nothing can be delivered; deliver() then reports every attempt as a
    // temporary failure (CurlEasy::make returns an empty handle) rather than crashing.
    (void)curl_global_init(CURL_GLOBAL_DEFAULT);
  });
}

Status check_timeouts(const Timeouts& t) {
  if (auto s = check_one(t.connect, "connect_timeout"); !s) return s;
  if (auto s = check_one(t.response, "response_timeout"); !s) return s;
  if (auto s = check_one(t.total, "total_timeout"); !s) return s;
  if (t.connect > t.total) return bad("connect_timeout", "must not exceed total_timeout");
  if (t.response > t.total) return bad("response_timeout", "must not exceed total_timeout");
  return Status::ok();
}

bool is_loopback_host(std::string_view host) {
  std::string h = lower(host);
  if (h == "localhost") return true;
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  in_addr v4{};
  if (::inet_pton(AF_INET, h.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    return std::memcmp(&v6, &in6addr_loopback, sizeof v6) == 0;
  }
  return false;
}

Result<ParsedUrl> parse_url(std::string_view url, std::string_view field) {
  ensure_curl();
  CurlUrl u;
  if (u.get() == nullptr) return Status(ErrorCode::kInternal, "out of memory");
  if (url.empty() || url.find('\0') != std::string_view::npos) return bad(field, "not a URL");
  if (curl_url_set(u.get(), CURLUPART_URL, std::string(url).c_str(), 0) != CURLUE_OK) {
    return bad(field, "not a URL");
  }
  ParsedUrl out;
  std::string ignored;
  if (u.part(CURLUPART_USER, ignored) || u.part(CURLUPART_PASSWORD, ignored)) {
    return bad(field, "must not hold credentials; use the password or token file");
  }
  if (u.part(CURLUPART_FRAGMENT, ignored)) return bad(field, "must not have a fragment");
  if (!u.part(CURLUPART_SCHEME, out.scheme) || !u.part(CURLUPART_HOST, out.host) ||
      out.host.empty()) {
    return bad(field, "must be an absolute URL with a host");
  }
  out.scheme = lower(out.scheme);
  (void)u.part(CURLUPART_PORT, out.port);
  if (!u.part(CURLUPART_PATH, out.path) || out.path.empty()) out.path = "/";
  out.has_query = u.part(CURLUPART_QUERY, ignored);
  out.loopback = is_loopback_host(out.host);
  return out;
}

CurlEasy CurlEasy::make() {
  ensure_curl();
  return CurlEasy(curl_easy_init());
}

CurlEasy::CurlEasy(CurlEasy&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}

CurlEasy::~CurlEasy() {
  if (handle_ != nullptr) curl_easy_cleanup(handle_);
}

CurlList::~CurlList() {
  for (curl_slist* e = list_; e != nullptr; e = e->next) {
    if (e->data != nullptr) sodium_memzero(e->data, std::strlen(e->data));
  }
  curl_slist_free_all(list_);
}

bool CurlList::append(const std::string& entry) {
  curl_slist* next = curl_slist_append(list_, entry.c_str());
  if (next == nullptr) return false;
  list_ = next;
  return true;
}

bool apply_transport(CURL* curl, const TransportOptions& o) {
  const auto stall_seconds = std::chrono::ceil<std::chrono::seconds>(o.timeouts.response).count();
  bool ok = true;
  auto set = [&ok](CURLcode c) { ok = ok && c == CURLE_OK; };
  set(curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L));
  set(curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                       static_cast<long>(o.timeouts.connect.count())));
  set(curl_easy_setopt(curl, CURLOPT_SERVER_RESPONSE_TIMEOUT, static_cast<long>(stall_seconds)));
  set(curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(o.timeouts.total.count())));
  // HTTP has no reply timeout: fail when less than one byte a second moves for that long.
  set(curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L));
  set(curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(stall_seconds)));
  set(curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L));
  set(curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L));
  set(curl_easy_setopt(curl, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2)));
  if (!o.ca_file.empty()) {
    // Instead of the system's CAs, not beside them: Debian's libcurl also has a default CA
    // directory, which would keep every public CA trusted.
    set(curl_easy_setopt(curl, CURLOPT_CAINFO, o.ca_file.c_str()));
    set(curl_easy_setopt(curl, CURLOPT_CAPATH, nullptr));
  }
  // The configured route only: no proxy from the environment (http_proxy would see a loopback
  // webhook's signed body, code and number included, in clear).
  set(curl_easy_setopt(curl, CURLOPT_PROXY, ""));
  set(curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, o.protocols));
  set(curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L));
  set(curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &discard_body));
  return ok;
}

AttemptResult classify_smtp(CURLcode code, long reply_code) {
  if (code == CURLE_OK) return make(AttemptClass::kSent, reply_code, "sent");
  switch (code) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_USE_SSL_FAILED:
    case CURLE_OPERATION_TIMEDOUT: return classify_transport(code, reply_code);
    default: break;
  }
  if (reply_code >= 400 && reply_code < 500) {
    return make(AttemptClass::kTemporary, reply_code, "smtp reply " + std::to_string(reply_code));
  }
  if (reply_code >= 500 && reply_code < 600) {
    return make(AttemptClass::kPermanent, reply_code, "smtp reply " + std::to_string(reply_code));
  }
  return classify_transport(code, reply_code);
}

AttemptResult classify_http(CURLcode code, long status, std::chrono::milliseconds retry_after) {
  if (code != CURLE_OK) return classify_transport(code, status);
  const std::string reply = "http status " + std::to_string(status);
  if (status >= 200 && status < 300) return make(AttemptClass::kSent, status, "sent");
  if (status == 408 || status == 425 || status == 429 || (status >= 500 && status < 600)) {
    AttemptResult r = make(AttemptClass::kTemporary, status, reply);
    r.retry_after = retry_after;
    return r;
  }
  // Other 4xx: the request itself is wrong (number, credentials); 1xx/3xx: a redirect veribind
  // does not follow, because it would send the message somewhere not configured.
  return make(AttemptClass::kPermanent, status, reply);
}

std::chrono::milliseconds retry_after_of(CURL* curl) {
  curl_off_t seconds = 0;
  if (curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &seconds) != CURLE_OK || seconds <= 0) {
    return std::chrono::milliseconds::zero();
  }
  const auto wait = std::chrono::seconds(seconds);
  return wait > kMaxRetryAfter ? kMaxRetryAfter
                               : std::chrono::duration_cast<std::chrono::milliseconds>(wait);
}

}  // namespace veribind::internal
