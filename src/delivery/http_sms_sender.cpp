#include <sodium.h>

#include <algorithm>
#include <array>
#include <utility>

#include "delivery/internal/curl.hpp"
#include "delivery/internal/secret_file.hpp"
#include "internal/hex.hpp"
#include "internal/wipe.hpp"
#include "veribind/sms_senders.hpp"

namespace veribind {

namespace {

constexpr std::size_t kMinWebhookKey = 16;

Status bad(std::string_view field, std::string_view why) {
  return {ErrorCode::kInvalidConfig, std::string(field) + ": " + std::string(why)};
}

AttemptResult failed(AttemptClass c, std::string detail) {
  AttemptResult r;
  r.result = c;
  r.detail = std::move(detail);
  return r;
}

bool alphanumeric(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  });
}

// Printable ASCII only: the value goes into a header or a URL.
bool printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7F; });
}

// HTTPS, or HTTP to this machine; fills the protocol allow-list to match.
Result<internal::ParsedUrl> check_http_url(std::string_view url, std::string_view field,
                                           internal::TransportOptions& transport) {
  auto parsed = internal::parse_url(url, field);
  if (!parsed) return parsed.status();
  if (parsed->scheme == "https") {
    transport.protocols = "https";
  } else if (parsed->scheme == "http" && parsed->loopback) {
    transport.protocols = "http";
  } else if (parsed->scheme == "http") {
    return bad(field, "http:// is allowed only to a loopback host; use https://");
  } else {
    return bad(field, "scheme must be https");
  }
  return parsed;
}

Status read_timeouts(internal::TransportOptions& transport, std::chrono::milliseconds connect,
                     std::chrono::milliseconds response, std::chrono::milliseconds total) {
  transport.timeouts = {connect, response, total};
  return internal::check_timeouts(transport.timeouts);
}

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c < 0x20) {
      out.append("\\u00");
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0F]);
    } else {
      out.push_back(ch);  // UTF-8 passes through: JSON text is UTF-8
    }
  }
  out.push_back('"');
}

void append_form_value(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0F]);
    }
  }
}

std::string base64(const unsigned char* bytes, std::size_t size) {
  std::string out(sodium_base64_encoded_len(size, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes, size, sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);
  return out;
}

struct Credentials {
  const std::string* user = nullptr;
  const SecretText* password = nullptr;
};

// One POST with `body`; the classified outcome.
AttemptResult post(const std::string& url, const internal::TransportOptions& transport,
                   const internal::CurlList& headers, std::string_view body,
                   Credentials credentials) {
  // A fresh handle per attempt: nothing mutable is shared between threads calling deliver().
  internal::CurlEasy easy = internal::CurlEasy::make();
  if (!easy) return failed(AttemptClass::kTemporary, "out of memory");
  CURL* curl = easy.get();
  bool ok = internal::apply_transport(curl, transport);
  auto set = [&ok](CURLcode c) { ok = ok && c == CURLE_OK; };
  set(curl_easy_setopt(curl, CURLOPT_URL, url.c_str()));
  set(curl_easy_setopt(curl, CURLOPT_POST, 1L));
  // Not COPYPOSTFIELDS: curl reads the caller's wiped buffer and keeps no copy of the code.
  set(curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data()));
  set(curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size())));
  set(curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get()));
  set(curl_easy_setopt(curl, CURLOPT_USERAGENT, "veribind"));
  if (credentials.user != nullptr) {
    std::string password(credentials.password->reveal());
    set(curl_easy_setopt(curl, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC)));
    set(curl_easy_setopt(curl, CURLOPT_USERNAME, credentials.user->c_str()));
    set(curl_easy_setopt(curl, CURLOPT_PASSWORD, password.c_str()));  // curl copies it
    internal::wipe(password);
  }
  if (!ok) return failed(AttemptClass::kTemporary, "curl option refused");
  const CURLcode code = curl_easy_perform(curl);
  long status = 0;
  (void)curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  return internal::classify_http(code, status, internal::retry_after_of(curl));
}

}  // namespace

// --- WebhookSender
// --------------------------------------------------------------------------------

struct WebhookSender::Settings {
  std::string name;
  std::string url;
  SecretText key;
  internal::TransportOptions transport;
};

WebhookSender::WebhookSender(std::unique_ptr<const Settings> settings)
    : settings_(std::move(settings)) {}
WebhookSender::~WebhookSender() = default;
std::string_view WebhookSender::name() const noexcept { return settings_->name; }

Result<std::unique_ptr<WebhookSender>> WebhookSender::create(WebhookConfig config) {
  if (config.name.empty()) return bad("name", "must not be empty");
  auto s = std::make_unique<Settings>();
  auto url = check_http_url(config.url, "url", s->transport);
  if (!url) return url.status();
  if (auto t = read_timeouts(s->transport, config.connect_timeout, config.response_timeout,
                             config.total_timeout);
      !t) {
    return t;
  }
  auto key = internal::read_secret_file(config.secret_file, "secret_file",
                                        internal::TrailingNewline::kKeep);
  if (!key) return key.status();
  // A Standard Webhooks secret ("whsec_" + base64, as its tooling makes them): the key is the
  // decoded bytes, as the reference verifiers take it. Anything else: the file's bytes.
  constexpr std::string_view kPrefix = "whsec_";
  if (key->reveal().starts_with(kPrefix)) {
    std::string_view encoded = key->reveal().substr(kPrefix.size());
    while (!encoded.empty() && (encoded.back() == '\n' || encoded.back() == '\r')) {
      encoded.remove_suffix(1);
    }
    std::string decoded(encoded.size(), '\0');
    internal::WipeOnExit wipe_decoded(decoded);
    std::size_t length = 0;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(decoded.data()), decoded.size(),
                          encoded.data(), encoded.size(), nullptr, &length, nullptr,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
      return bad("secret_file", "a whsec_ secret must be base64 after its prefix");
    }
    key = SecretText::copy_of(std::string_view(decoded.data(), length));
  }
  if (key->size() < kMinWebhookKey) return bad("secret_file", "must hold at least 16 bytes");
  s->key = std::move(*key);
  s->name = std::move(config.name);
  s->url = std::move(config.url);
  s->transport.ca_file = std::move(config.ca_file);
  return std::unique_ptr<WebhookSender>(new WebhookSender(std::move(s)));
}

AttemptResult WebhookSender::deliver(const OutgoingMessage& message) {
  if (message.channel != Channel::kPhone) return failed(AttemptClass::kPermanent, "wrong channel");
  if (!printable(message.challenge_id) || message.challenge_id.empty()) {
    return failed(AttemptClass::kPermanent, "invalid message");
  }
  const Settings& s = *settings_;
  const auto key = s.key.reveal();
  const auto* key_bytes = reinterpret_cast<const unsigned char*>(key.data());
  auto mac = [&](crypto_auth_hmacsha256_state& state) {
    crypto_auth_hmacsha256_init(&state, key_bytes, key.size());
  };
  auto update = [](crypto_auth_hmacsha256_state& state, std::string_view part) {
    crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(part.data()),
                                  part.size());
  };
  const std::string_view to = message.destination.reveal();
  const std::string_view text = message.text.reveal();

  // webhook-id: the same for every attempt at this message and different for a new message to
  // the same challenge (a resend with a new text). Keyed, so that it reveals nothing of the code.
  std::array<unsigned char, crypto_auth_hmacsha256_BYTES> digest{};
  crypto_auth_hmacsha256_state state;
  mac(state);
  update(state, std::string_view("veribind webhook-id\0", 20));
  update(state, message.challenge_id);
  update(state, std::string_view("\0", 1));
  update(state, to);
  update(state, std::string_view("\0", 1));
  update(state, text);
  crypto_auth_hmacsha256_final(&state, digest.data());
  const std::string id = "msg_" + message.challenge_id + "_" + internal::to_hex({digest.data(), 8});

  std::string body;
  internal::WipeOnExit wipe_body(body);
  // Worst case six bytes per input byte (\u00XX), reserved so the buffer never reallocates and
  // leaves an unwiped copy of the code behind.
  body.reserve(64 + 6 * (to.size() + text.size() + message.challenge_id.size()));
  body.append("{\"to\":");
  append_json_string(body, to);
  body.append(",\"text\":");
  append_json_string(body, text);
  body.append(",\"id\":");
  append_json_string(body, message.challenge_id);
  body.append("}");

  const std::string timestamp =
      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count());
  mac(state);
  update(state, id);
  update(state, ".");
  update(state, timestamp);
  update(state, ".");
  update(state, body);
  crypto_auth_hmacsha256_final(&state, digest.data());
  sodium_memzero(&state, sizeof state);

  internal::CurlList headers;
  const bool listed =
      headers.append("Content-Type: application/json") && headers.append("Expect:") &&
      headers.append("webhook-id: " + id) && headers.append("webhook-timestamp: " + timestamp) &&
      headers.append("webhook-signature: v1," + base64(digest.data(), digest.size()));
  if (!listed) return failed(AttemptClass::kTemporary, "out of memory");
  return post(s.url, s.transport, headers, body, {});
}

// --- TwilioSender
// ---------------------------------------------------------------------------------

struct TwilioSender::Settings {
  std::string name;
  std::string url;
  std::string account_sid;
  SecretText token;
  std::string sender_field;  // "From=..." or "MessagingServiceSid=...", form-encoded
  internal::TransportOptions transport;
};

TwilioSender::TwilioSender(std::unique_ptr<const Settings> settings)
    : settings_(std::move(settings)) {}
TwilioSender::~TwilioSender() = default;
std::string_view TwilioSender::name() const noexcept { return settings_->name; }

Result<std::unique_ptr<TwilioSender>> TwilioSender::create(TwilioConfig config) {
  if (config.name.empty()) return bad("name", "must not be empty");
  auto s = std::make_unique<Settings>();
  auto url = check_http_url(config.base_url, "base_url", s->transport);
  if (!url) return url.status();
  if (url->has_query) return bad("base_url", "must not have a query");
  if (!alphanumeric(config.account_sid)) {
    return bad("account_sid", "must be letters and digits");
  }
  if (config.from.empty() == config.messaging_service_sid.empty()) {
    return bad("from", "set exactly one of from and messaging_service_sid");
  }
  if (!config.from.empty()) {
    if (!printable(config.from) || config.from.size() > 64) {
      return bad("from", "must be a number or sender id");
    }
    s->sender_field = "From=";
    append_form_value(s->sender_field, config.from);
  } else {
    if (!alphanumeric(config.messaging_service_sid)) {
      return bad("messaging_service_sid", "must be letters and digits");
    }
    s->sender_field = "MessagingServiceSid=" + config.messaging_service_sid;
  }
  if (auto t = read_timeouts(s->transport, config.connect_timeout, config.response_timeout,
                             config.total_timeout);
      !t) {
    return t;
  }
  auto token = internal::read_secret_file(config.auth_token_file, "auth_token_file",
                                          internal::TrailingNewline::kStrip);
  if (!token) return token.status();
  s->token = std::move(*token);
  std::string base = config.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  s->url = base + "/2010-04-01/Accounts/" + config.account_sid + "/Messages.json";
  s->account_sid = std::move(config.account_sid);
  s->name = std::move(config.name);
  s->transport.ca_file = std::move(config.ca_file);
  return std::unique_ptr<TwilioSender>(new TwilioSender(std::move(s)));
}

AttemptResult TwilioSender::deliver(const OutgoingMessage& message) {
  if (message.channel != Channel::kPhone) return failed(AttemptClass::kPermanent, "wrong channel");
  const Settings& s = *settings_;
  const std::string_view to = message.destination.reveal();
  const std::string_view text = message.text.reveal();
  std::string body;
  internal::WipeOnExit wipe_body(body);
  body.reserve(32 + s.sender_field.size() + 3 * (to.size() + text.size()));  // never reallocates
  body.append("To=");
  append_form_value(body, to);
  body.append("&").append(s.sender_field).append("&Body=");
  append_form_value(body, text);
  internal::CurlList headers;
  if (!headers.append("Accept: application/json") || !headers.append("Expect:")) {
    return failed(AttemptClass::kTemporary, "out of memory");
  }
  return post(s.url, s.transport, headers, body, {&s.account_sid, &s.token});
}

}  // namespace veribind
