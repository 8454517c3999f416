// Routing, authentication and the error mapping: what every route goes through before its
// handler runs. A request is matched to its route, then its method, then its caller, in that
// order, and only then read: nothing unauthenticated reaches a parser or a store.
#include "serve/api.hpp"

#include <array>
#include <span>

#include "serve/api_routes.hpp"

namespace veribind::serve {

namespace {

// Whether `path` fits `pattern`; the one "{...}" segment's raw text goes to `id`.
bool matches(std::string_view pattern, std::string_view path, std::string_view& id) {
  while (!pattern.empty() || !path.empty()) {
    if (pattern.empty() || path.empty() || pattern.front() != '/' || path.front() != '/') {
      return false;
    }
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    const std::string_view p = pattern.substr(0, pattern.find('/'));
    const std::string_view s = path.substr(0, path.find('/'));
    if (p.starts_with('{')) {
      if (s.empty()) return false;
      id = s;
    } else if (p != s) {
      return false;
    }
    pattern.remove_prefix(p.size());
    path.remove_prefix(s.size());
  }
  return true;
}

// Whether `host` (a Host header) names this host by loopback: "localhost", "127.0.0.1" or
// "[::1]", with an optional port. Any other name may be an attacker's domain that resolves here
// (DNS rebinding), which would let a web page read the demo's codes.
bool is_loopback_host(std::string_view host) {
  for (const std::string_view name : {"localhost", "127.0.0.1", "[::1]"}) {
    if (!host.starts_with(name)) continue;
    const std::string_view port = host.substr(name.size());
    if (port.empty()) return true;
    return port.size() >= 2 && port.size() <= 6 && port.front() == ':' &&
           port.find_first_not_of("0123456789", 1) == std::string_view::npos;
  }
  return false;
}

// Whether a demo route may answer `request`: from a loopback IP address, by no proxy, and to a
// loopback Host. Anything else is answered as if there were no demo.
bool demo_reachable(const HttpRequest& request) {
  const auto peer = IpAddress::parse(request.peer);
  if (!peer) return false;  // a unix socket, or nothing known
  static const IpAddress kLoopbackV6 = IpAddress::parse("::1").value();
  const bool loopback_peer = peer->is_v4() ? peer->bytes[12] == 127 : *peer == kLoopbackV6;
  return loopback_peer && request.forwarded_for.empty() && is_loopback_host(request.host);
}

HttpReply not_found() { return api_error_reply({404, "not_found", "no such route"}); }

HttpReply with_route(HttpReply reply, std::string_view route, std::string_view key_id) {
  reply.route = std::string(route);
  reply.key_id = std::string(key_id);
  return reply;
}

}  // namespace

HttpReply json_reply(int status, const nlohmann::json& object) {
  HttpReply reply;
  reply.status = status;
  reply.body = object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return reply;
}

ApiError status_error(const Status& status) {
  int http = 500;
  switch (status.code()) {
    case ErrorCode::kOk: http = 200; break;
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kInputTooLong:
    case ErrorCode::kPhoneNotANumber:
    case ErrorCode::kPhoneInvalidCountryCode:
    case ErrorCode::kPhoneTooShort:
    case ErrorCode::kPhoneTooLong:
    case ErrorCode::kPhoneInvalidForRegion:
    case ErrorCode::kPhoneHasLetters:
    case ErrorCode::kEmailSyntax:
    case ErrorCode::kEmailLocalPartTooLong:
    case ErrorCode::kEmailDomainTooLong:
    case ErrorCode::kEmailTooLong:
    case ErrorCode::kEmailQuotedLocalPart:
    case ErrorCode::kEmailNonAsciiLocalPart:
    case ErrorCode::kEmailInvalidDomain:
    case ErrorCode::kInvalidCode:
    case ErrorCode::kInvalidChallengeId:
    case ErrorCode::kInvalidAccountId:
    case ErrorCode::kAccountIdPersonalData:
    case ErrorCode::kLegalRequestPersonalData:
    case ErrorCode::kInvalidLegalRequest:
    case ErrorCode::kIdentifierRequired: http = 400; break;
    case ErrorCode::kAlreadyBound:
    case ErrorCode::kAccountHasBinding:
    case ErrorCode::kKeyVersionInUse:
    case ErrorCode::kAuditLogCorrupt:
    case ErrorCode::kContactKeyMissing: http = 409; break;
    case ErrorCode::kChallengeNotFound:
    case ErrorCode::kIdentifierMismatch:
    case ErrorCode::kPhoneTypeNotAllowed:
    case ErrorCode::kWrongChannel:
    case ErrorCode::kRegionNotAllowed:
    case ErrorCode::kWrongPurpose:
    case ErrorCode::kEmailFormMismatch:
    case ErrorCode::kVerificationSpent:
    case ErrorCode::kNotASecurityPurpose:
    case ErrorCode::kNoContact: http = 422; break;
    case ErrorCode::kResendTooSoon:
    case ErrorCode::kRateLimited: http = 429; break;
    case ErrorCode::kStoreError:
    case ErrorCode::kUnavailable:
    case ErrorCode::kDeliveryFailed:
    case ErrorCode::kOutboxFull:
    case ErrorCode::kDeliveryRefused: http = 503; break;
    case ErrorCode::kInvalidConfig:
    case ErrorCode::kConfigFileInvalid:
    case ErrorCode::kKeyFileInsecure:
    case ErrorCode::kKeyFileMalformed:
    case ErrorCode::kKeyUnavailable:
    case ErrorCode::kContactSealBroken:
    case ErrorCode::kInternal: http = 500; break;
  }
  return ApiError{http, std::string(error_code_name(status.code())), status.message()};
}

std::optional<std::string> percent_decode(std::string_view text) {
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    const int high = i + 1 < text.size() ? hex(text[i + 1]) : -1;
    const int low = i + 2 < text.size() ? hex(text[i + 2]) : -1;
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

std::optional<ApiError> read_query(std::string_view query, std::span<QueryParameter> parameters) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    const auto name = percent_decode(pair.substr(0, eq));
    const auto value =
        percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!name || !value) return ApiError{400, "bad_request", "bad percent-encoding in the query"};
    QueryParameter* p = nullptr;
    for (QueryParameter& candidate : parameters) {
      if (candidate.name == *name) p = &candidate;
    }
    if (p == nullptr) {
      return ApiError{400, "unknown_field", message_naming_field("unknown parameter", *name)};
    }
    if (p->value) {
      return ApiError{400, "duplicate_field", message_naming_field("duplicate parameter", *name)};
    }
    p->value = *value;
  }
  return std::nullopt;
}

HttpReply Api::handle(const HttpRequest& request) const noexcept {
  try {
    return dispatch(request);
  } catch (...) {
    // Whatever it was, its text stays here.
    try {
      return api_error_reply({500, "internal", "internal error"});
    } catch (...) {
      return HttpReply{500, "application/json", {}, {}, "-", {}, "internal"};
    }
  }
}

HttpReply Api::dispatch(const HttpRequest& request) const {
  const std::size_t question = request.target.find('?');
  const std::string_view path = std::string_view(request.target).substr(0, question);
  const std::string_view query = question == std::string::npos
                                     ? std::string_view()
                                     : std::string_view(request.target).substr(question + 1);

  const Route* route = nullptr;
  std::string_view raw_id;
  std::string allow;
  for (const Route& candidate : kRoutes) {
    const bool demo_route =
        candidate.access == Access::kDemo || candidate.access == Access::kDemoPage;
    if (demo_route && !(s_.demo.enabled && demo_reachable(request))) continue;
    std::string_view id;
    if (!matches(candidate.pattern, path, id)) continue;
    if (candidate.method != request.method) {
      if (!allow.empty()) allow += ", ";
      allow += candidate.method;
      continue;
    }
    route = &candidate;
    raw_id = id;
    break;
  }
  if (route == nullptr) {
    if (allow.empty()) return not_found();
    HttpReply reply = api_error_reply({405, "method_not_allowed", "method not allowed"});
    reply.headers.emplace_back("Allow", allow);
    // The route is known; the log says which.
    for (const Route& candidate : kRoutes) {
      std::string_view id;
      if (matches(candidate.pattern, path, id))
        return with_route(std::move(reply), candidate.pattern, {});
    }
    return reply;
  }

  // Who is asking.
  std::string key_id;
  if (route->access == Access::kVerify || route->access == Access::kOperator) {
    const std::optional<Caller> caller =
        s_.authenticate ? s_.authenticate(request.authorization) : std::nullopt;
    if (!caller) {
      HttpReply reply = api_error_reply({401, "unauthorized", "a valid API key is required"});
      reply.headers.emplace_back("WWW-Authenticate", "Bearer");
      return with_route(std::move(reply), route->pattern, {});
    }
    key_id = caller->key_id;
    const ApiScope needed =
        route->access == Access::kVerify ? ApiScope::kVerify : ApiScope::kOperator;
    if (caller->scope != needed) {
      return with_route(
          api_error_reply({403, "forbidden", "this API key's scope does not allow this route"}),
          route->pattern, key_id);
    }
  } else if (route->access == Access::kDemo) {
    key_id = "demo";
  }

  if (route->pattern == "/healthz") {
    return with_route(json_reply(200, {{"status", "ok"}}), route->pattern, key_id);
  }
  if (route->pattern == "/readyz") {
    // A cheap read of the store: the challenge of a fixed well-formed id (never present).
    auto probe = s_.verifier.live_challenge("00000000000000000000000000000000");
    if (!probe) {
      return with_route(api_error_reply({503, "unavailable", "the store does not answer"}),
                        route->pattern, key_id);
    }
    return with_route(json_reply(200, {{"status", "ready"}}), route->pattern, key_id);
  }
  if (route->pattern == "/metrics") {
    HttpReply reply;
    reply.content_type = "text/plain; version=0.0.4";
    reply.body = s_.metrics.render();
    return with_route(std::move(reply), route->pattern, key_id);
  }
  if (route->access == Access::kDemoPage) {
    const auto asset = s_.demo.page ? s_.demo.page(path) : std::nullopt;
    if (!asset) return not_found();
    HttpReply reply;
    reply.content_type = asset->content_type;
    reply.body = asset->body;
    reply.headers.emplace_back("Content-Security-Policy", s_.demo.content_security_policy);
    reply.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return with_route(std::move(reply), route->pattern, key_id);
  }

  const auto id = percent_decode(raw_id);
  if (!id) return with_route(not_found(), route->pattern, key_id);
  const std::string client =
      client_address(request.peer, request.forwarded_for, s_.trusted_proxies);
  const RequestScope scope{s_, request, *id, query, client};
  HttpReply reply = route->handler(scope);
  return with_route(std::move(reply), route->pattern, key_id);
}

}  // namespace veribind::serve
