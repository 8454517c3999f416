// Strict reading of the API's JSON request bodies, and the API's error replies.
//
// A body must be one JSON object of valid UTF-8, with no key twice, only the fields the endpoint
// knows, each of its type and within its byte limit. Anything else is refused before any store is
// touched, with a stable code and a message that names at most the field (never a value).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "serve/http_server.hpp"

namespace veribind::serve {

// An API error before it becomes a reply: HTTP status, stable code, message without input.
struct ApiError {
  int status = 400;
  std::string code;
  std::string message;
};

// The reply for `error`: {"error":{"code":..,"message":..}}, the code also as the log's reason.
[[nodiscard]] HttpReply api_error_reply(const ApiError& error);

enum class FieldType : std::uint8_t { kString, kInteger };

// One field an endpoint accepts.
struct FieldSpec {
  std::string_view name;
  FieldType type = FieldType::kString;
  bool required = false;
  std::size_t max_bytes = 256;  // strings only
};

// A body that passed every check: its fields, as sent.
class JsonBody {
 public:
  // The string field `name`, or nullptr when it was not sent.
  [[nodiscard]] const std::string* string(std::string_view name) const noexcept;
  // The string field, or `fallback` when it was not sent.
  [[nodiscard]] std::string_view string_or(std::string_view name,
                                           std::string_view fallback) const noexcept;
  [[nodiscard]] std::optional<std::int64_t> integer(std::string_view name) const noexcept;

  struct Member {
    std::string name;
    FieldType type = FieldType::kString;
    bool other_type = false;  // a value neither a string nor an integer (a wrong type for any)
    std::string text;
    std::int64_t number = 0;
  };
  std::vector<Member> members;
};

// Whether a Content-Type names application/json (parameters such as charset allowed, case
// ignored).
[[nodiscard]] bool is_json_media_type(std::string_view content_type) noexcept;

// Reads `body` against `fields`. Errors, all 400 but the first: unsupported_media_type (415, the
// Content-Type is not application/json), bad_json (not one object of valid UTF-8 JSON, or nested
// more than a few levels), duplicate_field, unknown_field, wrong_type, missing_field,
// input_too_long. Field names appear in messages only as message_naming_field() allows.
[[nodiscard]] std::optional<ApiError> read_json_body(const HttpRequest& request,
                                                     std::span<const FieldSpec> fields,
                                                     JsonBody& out);

// The message `what`, followed by `name` in quotes only if `name` looks like a field name
// ([a-z][a-z0-9_]{0,31}, as every field and parameter the API knows): a client-chosen key
// may hold an email address or a phone number, which a message must never repeat.
[[nodiscard]] std::string message_naming_field(std::string_view what, std::string_view name);

}  // namespace veribind::serve
