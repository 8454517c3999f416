// The HTTP JSON API of `veribind serve`: the Handler behind the transport (http_server.hpp).
//
// Routes (each needs a Bearer API key of the scope named, except the three without):
//   GET  /healthz, /readyz                               none
//   POST /v1/verifications                               verify    start: send a code
//   POST /v1/verifications/{id}/resend                   verify    a new code for the challenge
//   POST /v1/verifications/{id}/check                    verify    check a code
//   POST /v1/accounts/{account_id}/bindings              verify    check a code and bind
//   POST /v1/operator/{find,disclose,unlink,erase,purge} operator
//   GET  /v1/operator/{audit/verify,transparency,retention,keys}
//   GET  /metrics                                        operator  Prometheus text
// and with demo mode the signup page (/, /demo.css, /demo.js), the /demo/v1/... twins of the
// verify routes (no key: an implicit verify caller "demo") and GET /demo/codes/{id}, each only
// for a request from a loopback IP address, without X-Forwarded-For, whose Host is localhost,
// 127.0.0.1 or [::1] (so that no other name resolved to this host, DNS rebinding, reaches them).
//
// What a client can learn is what the library's public answers tell: a start is answered the
// same (201, the same fields) whether a code was sent, a limit refused it or the outbox was full;
// a check is "approved" or "pending", nothing in between; a failed check on a binding is one
// code, invalid_or_expired_code. Errors are {"error":{"code":..,"message":..}} with stable codes
// and messages that never repeat input. Sealed contacts are not offered over HTTP: reading one is
// an operator's single, stated-purpose act (`veribind contact`), and an endpoint would make it a
// loop away from a bulk read.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "cli.hpp"
#include "serve/api_keys.hpp"
#include "serve/api_metrics.hpp"
#include "serve/client_address.hpp"
#include "serve/demo_sender.hpp"
#include "serve/http_server.hpp"

namespace veribind::serve {

// The caller an Authorization header names, or nullopt (missing, malformed, unknown, revoked).
using Authenticator = std::function<std::optional<Caller>(std::string_view authorization_header)>;

// An embedded file of the demo page, as the route serves it.
struct DemoPageAsset {
  std::string content_type;
  std::string body;
};

struct DemoSettings {
  bool enabled = false;
  // Holds the codes of channels without a real provider (may be null when both have one).
  DemoSender* codes = nullptr;
  bool sms_has_provider = false;
  bool email_has_provider = false;
  // The page's files by path ("/", "/demo.css", "/demo.js"), and the CSP sent with them.
  std::function<std::optional<DemoPageAsset>(std::string_view path)> page;
  std::string content_security_policy;
};

// The channels a start or resend can send on: a real provider, or demo mode's kept codes. A
// channel that is not served is refused up front (422 channel_unavailable), the same for every
// identifier, rather than by the sender after the limits have run (which would tell a refused
// start from an allowed one).
struct ServedChannels {
  bool sms = true;
  bool email = true;
};

// What the API works on; none of it owned, all of it must outlive the Api. The verifier and the
// registries must be safe to call from several threads (the library's are).
struct ApiServices {
  Verifier& verifier;
  Registry& phone_registry;  // LinkPolicy phone-linked
  Registry& email_registry;  // LinkPolicy email-linked
  cli::Stores& stores;
  const KeyRing& ring;
  const Clock& clock;
  ApiMetrics& metrics;
  Authenticator authenticate;
  std::string default_policy = "phone-linked";  // [policy] link
  TrustedProxies trusted_proxies = {};
  DemoSettings demo = {};
  ServedChannels channels = {};
};

class Api {
 public:
  explicit Api(ApiServices services) : s_(std::move(services)) {}

  // The Handler: thread-safe, and never throws (anything unexpected is 500 internal with a fixed
  // message).
  [[nodiscard]] HttpReply handle(const HttpRequest& request) const noexcept;
  [[nodiscard]] Handler handler() const {
    return [this](const HttpRequest& request) { return handle(request); };
  }

 private:
  HttpReply dispatch(const HttpRequest& request) const;
  ApiServices s_;
};

}  // namespace veribind::serve
