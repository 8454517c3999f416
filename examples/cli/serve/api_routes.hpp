// What the API's route handlers share (api.cpp routes; api_verify.cpp and api_operator.cpp
// answer). Not part of the Api's interface.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "serve/api.hpp"
#include "serve/api_json.hpp"

namespace veribind::serve {

// One request on its way through a handler.
struct RequestScope {
  const ApiServices& services;
  const HttpRequest& request;
  std::string_view path_id;     // the route's {id} or {account_id}, percent-decoded
  std::string_view query;       // after '?', raw
  std::string_view client_key;  // client_address() of the request
};

// Body limits the verify and operator routes share.
inline constexpr std::size_t kMaxDestinationBytes = 320;  // an email address with room to spare
inline constexpr std::size_t kMaxNameBytes = 32;          // channel, purpose, policy, region

// The reply with `object` as its body.
[[nodiscard]] HttpReply json_reply(int status, const nlohmann::json& object);
// The ApiError for a library Status: its error_code_name() and message, with the HTTP status its
// kind of failure takes (400 input, 409/422 policy, 503 store or delivery down, 500 otherwise).
[[nodiscard]] ApiError status_error(const Status& status);
// The reply for a library Status, as status_error() maps it.
[[nodiscard]] inline HttpReply status_reply(const Status& status) {
  return api_error_reply(status_error(status));
}
// The query parameter `name` of a query that may hold only `allowed` ones (percent-decoded).
// Errors: unknown_field, duplicate_field, bad_request (bad percent-encoding).
struct QueryParameter {
  std::string_view name;
  std::optional<std::string> value;
};
[[nodiscard]] std::optional<ApiError> read_query(std::string_view query,
                                                 std::span<QueryParameter> parameters);
// `text` percent-decoded, or nullopt for a bad escape.
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view text);

// `to` as `channel` ("sms": a phone number, with `region` for national forms; "email") reads it.
// The parsers' errors (400), their messages naming the field, never the value.
[[nodiscard]] Result<Identifier> parse_destination(const JsonBody& body);
[[nodiscard]] Result<Identifier> parse_destination(std::string_view channel, std::string_view to,
                                                   const std::string* region);

// api_verify.cpp
[[nodiscard]] HttpReply start_verification(const RequestScope& scope);
[[nodiscard]] HttpReply resend_verification(const RequestScope& scope);
[[nodiscard]] HttpReply check_verification(const RequestScope& scope);
[[nodiscard]] HttpReply bind_account(const RequestScope& scope);
[[nodiscard]] HttpReply demo_code(const RequestScope& scope);

// api_operator.cpp
[[nodiscard]] HttpReply operator_find(const RequestScope& scope);
[[nodiscard]] HttpReply operator_disclose(const RequestScope& scope);
[[nodiscard]] HttpReply operator_unlink(const RequestScope& scope);
[[nodiscard]] HttpReply operator_erase(const RequestScope& scope);
[[nodiscard]] HttpReply operator_audit_verify(const RequestScope& scope);
[[nodiscard]] HttpReply operator_transparency(const RequestScope& scope);
[[nodiscard]] HttpReply operator_retention(const RequestScope& scope);
[[nodiscard]] HttpReply operator_purge(const RequestScope& scope);
[[nodiscard]] HttpReply operator_keys(const RequestScope& scope);

// Who may call a route: anyone, a verify or operator API key, or (in demo mode only, from
// loopback) the demo's implicit caller and its page.
enum class Access : std::uint8_t { kPublic, kVerify, kOperator, kDemo, kDemoPage };

using RouteHandler = HttpReply (*)(const RequestScope&);

struct Route {
  std::string_view pattern;  // as logs and metrics name the route; "{...}" matches one segment
  std::string_view method;
  Access access;
  RouteHandler handler;  // null: answered by the dispatcher itself
};

// Every route the API answers, in the order they are matched: the dispatcher's table and the
// metrics' route labels (where "-" stands for every request that matched none).
inline constexpr std::array<Route, 24> kRoutes = {{
    {"/healthz", "GET", Access::kPublic, nullptr},
    {"/readyz", "GET", Access::kPublic, nullptr},
    {"/metrics", "GET", Access::kOperator, nullptr},
    {"/v1/verifications", "POST", Access::kVerify, start_verification},
    {"/v1/verifications/{id}/resend", "POST", Access::kVerify, resend_verification},
    {"/v1/verifications/{id}/check", "POST", Access::kVerify, check_verification},
    {"/v1/accounts/{account_id}/bindings", "POST", Access::kVerify, bind_account},
    {"/v1/operator/find", "POST", Access::kOperator, operator_find},
    {"/v1/operator/disclose", "POST", Access::kOperator, operator_disclose},
    {"/v1/operator/unlink", "POST", Access::kOperator, operator_unlink},
    {"/v1/operator/erase", "POST", Access::kOperator, operator_erase},
    {"/v1/operator/audit/verify", "GET", Access::kOperator, operator_audit_verify},
    {"/v1/operator/transparency", "GET", Access::kOperator, operator_transparency},
    {"/v1/operator/retention", "GET", Access::kOperator, operator_retention},
    {"/v1/operator/purge", "POST", Access::kOperator, operator_purge},
    {"/v1/operator/keys", "GET", Access::kOperator, operator_keys},
    {"/", "GET", Access::kDemoPage, nullptr},
    {"/demo.css", "GET", Access::kDemoPage, nullptr},
    {"/demo.js", "GET", Access::kDemoPage, nullptr},
    {"/demo/v1/verifications", "POST", Access::kDemo, start_verification},
    {"/demo/v1/verifications/{id}/resend", "POST", Access::kDemo, resend_verification},
    {"/demo/v1/verifications/{id}/check", "POST", Access::kDemo, check_verification},
    {"/demo/v1/accounts/{account_id}/bindings", "POST", Access::kDemo, bind_account},
    {"/demo/codes/{id}", "GET", Access::kDemo, demo_code},
}};

}  // namespace veribind::serve
