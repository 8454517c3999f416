// Strict JSON bodies over nlohmann's SAX parser: one pass, no document built, duplicates seen as
// they arrive, and parsing stopped at the first thing refused.
#include "serve/api_json.hpp"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

namespace veribind::serve {

namespace {

// Deep enough for any body the API takes (its fields are flat); bounds the parser's own stack.
constexpr std::size_t kMaxDepth = 8;

// Collects the top-level object's scalar members; anything nested is recorded as "another type"
// and skipped.
class FlatObjectReader final : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit FlatObjectReader(JsonBody& out) : out_(&out) {}

  bool null() override { return scalar_other(); }
  bool boolean(bool /*value*/) override { return scalar_other(); }
  bool number_integer(number_integer_t value) override { return integer(value); }
  bool number_unsigned(number_unsigned_t value) override {
    if (value > static_cast<number_unsigned_t>(std::numeric_limits<std::int64_t>::max())) {
      return scalar_other();
    }
    return integer(static_cast<std::int64_t>(value));
  }
  bool number_float(number_float_t /*value*/, const string_t& /*text*/) override {
    return scalar_other();
  }
  bool string(string_t& value) override {
    if (depth_ != 1) return depth_ > 1 || not_an_object();
    JsonBody::Member& m = current();
    m.type = FieldType::kString;
    m.text = std::move(value);
    return true;
  }
  bool binary(binary_t& /*value*/) override { return scalar_other(); }
  bool start_object(std::size_t /*elements*/) override { return open(true); }
  bool key(string_t& name) override {
    if (depth_ != 1) return true;
    const bool seen = std::any_of(out_->members.begin(), out_->members.end(),
                                  [&](const JsonBody::Member& m) { return m.name == name; });
    if (seen) {
      error = ApiError{400, "duplicate_field", message_naming_field("duplicate field", name)};
      return false;
    }
    JsonBody::Member m;
    m.name = std::move(name);
    out_->members.push_back(std::move(m));
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t /*elements*/) override { return open(false); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& /*ex*/) override {
    // The parser's text quotes the input: never passed on.
    if (!error) error = ApiError{400, "bad_json", "the body is not valid JSON (UTF-8)"};
    return false;
  }

  std::optional<ApiError> error;

 private:
  JsonBody::Member& current() { return out_->members.back(); }
  bool integer(std::int64_t value) {
    if (depth_ != 1) return depth_ > 1 || not_an_object();
    JsonBody::Member& m = current();
    m.type = FieldType::kInteger;
    m.number = value;
    return true;
  }
  bool scalar_other() {
    if (depth_ != 1) return depth_ > 1 || not_an_object();
    current().other_type = true;
    return true;
  }
  bool open(bool object) {
    if (depth_ == 0 && !object) return not_an_object();
    if (depth_ == 1) current().other_type = true;
    if (++depth_ > kMaxDepth) {
      error = ApiError{400, "bad_json", "the body nests too deeply"};
      return false;
    }
    return true;
  }
  bool close() {
    --depth_;
    return true;
  }
  bool not_an_object() {
    error = ApiError{400, "bad_json", "the body must be one JSON object"};
    return false;
  }

  JsonBody* out_;
  std::size_t depth_ = 0;
};

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

ApiError field_error(std::string_view code, std::string_view what, std::string_view name) {
  return ApiError{400, std::string(code), message_naming_field(what, name)};
}

}  // namespace

HttpReply api_error_reply(const ApiError& error) {
  HttpReply reply;
  reply.status = error.status;
  reply.body = nlohmann::json{{"error", {{"code", error.code}, {"message", error.message}}}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
  reply.reason = error.code;
  return reply;
}

std::string message_naming_field(std::string_view what, std::string_view name) {
  constexpr std::size_t kMaxNameBytes = 32;
  const auto lower = [](char c) { return c >= 'a' && c <= 'z'; };
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  const bool field_like = !name.empty() && name.size() <= kMaxNameBytes && lower(name.front()) &&
                          std::all_of(name.begin(), name.end(),
                                      [&](char c) { return lower(c) || digit(c) || c == '_'; });
  std::string message(what);
  if (field_like) message.append(" \"").append(name).append("\"");
  return message;
}

bool is_json_media_type(std::string_view content_type) noexcept {
  const std::size_t semicolon = content_type.find(';');
  const std::string_view type = trim(content_type.substr(0, semicolon));
  if (type.size() != 16) return false;
  for (std::size_t i = 0; i < type.size(); ++i) {
    char c = type[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != "application/json"[i]) return false;
  }
  return true;
}

const std::string* JsonBody::string(std::string_view name) const noexcept {
  for (const Member& m : members) {
    if (m.name == name && m.type == FieldType::kString && !m.other_type) return &m.text;
  }
  return nullptr;
}

std::string_view JsonBody::string_or(std::string_view name,
                                     std::string_view fallback) const noexcept {
  const std::string* value = string(name);
  return value != nullptr ? std::string_view(*value) : fallback;
}

std::optional<std::int64_t> JsonBody::integer(std::string_view name) const noexcept {
  for (const Member& m : members) {
    if (m.name == name && m.type == FieldType::kInteger && !m.other_type) return m.number;
  }
  return std::nullopt;
}

std::optional<ApiError> read_json_body(const HttpRequest& request,
                                       std::span<const FieldSpec> fields, JsonBody& out) {
  if (!is_json_media_type(request.content_type)) {
    return ApiError{415, "unsupported_media_type", "the body must be application/json"};
  }
  out.members.clear();
  FlatObjectReader reader(out);
  bool parsed = false;
  try {
    parsed = nlohmann::json::sax_parse(request.body, &reader);
  } catch (...) {
    parsed = false;
  }
  if (reader.error) return reader.error;
  if (!parsed) return ApiError{400, "bad_json", "the body is not valid JSON (UTF-8)"};

  for (const JsonBody::Member& m : out.members) {
    const auto spec = std::find_if(fields.begin(), fields.end(),
                                   [&](const FieldSpec& f) { return f.name == m.name; });
    if (spec == fields.end()) return field_error("unknown_field", "unknown field", m.name);
  }
  for (const FieldSpec& f : fields) {
    const auto m =
        std::find_if(out.members.begin(), out.members.end(),
                     [&](const JsonBody::Member& member) { return member.name == f.name; });
    if (m == out.members.end()) {
      if (f.required) return field_error("missing_field", "missing field", f.name);
      continue;
    }
    if (m->other_type || m->type != f.type) {
      return field_error("wrong_type",
                         f.type == FieldType::kString ? "expected a string for field"
                                                      : "expected an integer for field",
                         f.name);
    }
    if (f.type == FieldType::kString && m->text.size() > f.max_bytes) {
      return field_error("input_too_long",
                         "at most " + std::to_string(f.max_bytes) + " bytes in field", f.name);
    }
  }
  return std::nullopt;
}

}  // namespace veribind::serve
