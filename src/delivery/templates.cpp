#include "veribind/templates.hpp"

#include <sodium.h>

#include <algorithm>
#include <cassert>
#include <fstream>
#include <sstream>

#include "delivery/internal/builtin_templates.hpp"
#include "delivery/internal/template_file.hpp"
#include "internal/wipe.hpp"

namespace veribind {
namespace {

constexpr std::size_t kMaxLocaleBytes = 16;
constexpr std::size_t kMaxAppNameBytes = 64;
constexpr std::size_t kMaxDomainBytes = 253;
constexpr std::size_t kAndroidHashChars = 11;
constexpr std::size_t kMaxCodeDigits = 16;
constexpr std::array<std::string_view, 4> kPurposeKeys = {"signup", "login", "recovery",
                                                          "change-identifier"};
constexpr std::array<std::string_view, 4> kTextKeys = {"sms", "email.subject", "email.text",
                                                       "email.html"};

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool valid_locale(std::string_view s) {
  if (s.empty() || s.size() > kMaxLocaleBytes) return false;
  for (const char c : s) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

Status invalid_config(std::string_view field, std::string_view why) {
  std::string message = "TemplateSettings.";
  message += field;
  message += ": ";
  message += why;
  return {ErrorCode::kInvalidConfig, std::move(message)};
}

Status validate(const TemplateSettings& s) {
  if (s.app_name.empty() || s.app_name.size() > kMaxAppNameBytes) {
    return invalid_config("app_name", "must be 1-64 bytes");
  }
  for (const char c : s.app_name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      return invalid_config("app_name", "must not contain control characters");
    }
  }
  if (s.domain.size() > kMaxDomainBytes) return invalid_config("domain", "at most 253 bytes");
  for (const char c : s.domain) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (!ok) return invalid_config("domain", "lowercase letters, digits, '-' and '.' only");
  }
  if (!s.android_app_hash.empty()) {
    bool ok = s.android_app_hash.size() == kAndroidHashChars;
    for (const char c : s.android_app_hash) {
      ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '+' || c == '/');
    }
    if (!ok) return invalid_config("android_app_hash", "must be 11 characters of base64");
  }
  return Status::ok();
}

// Every '{' opens one of the three placeholders.
bool placeholders_valid(std::string_view t) {
  for (std::size_t i = t.find('{'); i != std::string_view::npos; i = t.find('{', i + 1)) {
    const std::string_view rest = t.substr(i);
    if (!rest.starts_with("{code}") && !rest.starts_with("{minutes}") &&
        !rest.starts_with("{app}")) {
      return false;
    }
  }
  return true;
}

void append_html_escaped(std::string& out, std::string_view s) {
  for (const char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
}

struct Values {
  std::string_view code;
  std::string_view minutes;
  std::string_view app;
};

// Expands `t` into `out`, which the caller has reserved enough for (upper_bound()), so that it
// never reallocates and leaves no unwiped copy of the code behind.
void expand(std::string& out, std::string_view t, const Values& v, bool html) {
  for (std::size_t i = 0; i < t.size();) {
    if (t[i] != '{') {
      out += t[i++];
      continue;
    }
    std::string_view value;
    std::size_t skip = 0;
    const std::string_view rest = t.substr(i);
    if (rest.starts_with("{code}")) {
      value = v.code, skip = 6;
    } else if (rest.starts_with("{minutes}")) {
      value = v.minutes, skip = 9;
    } else {  // {app}: placeholders_valid() held when the template was loaded
      value = v.app, skip = 5;
    }
    if (html) {
      append_html_escaped(out, value);
    } else {
      out += value;
    }
    i += skip;
  }
}

// At least what expand() writes: every placeholder's value, HTML-escaped at six bytes a byte.
std::size_t upper_bound(std::string_view t, const Values& v) {
  const std::size_t placeholders = static_cast<std::size_t>(std::count(t.begin(), t.end(), '{'));
  const std::size_t longest = std::max({v.code.size(), v.minutes.size(), v.app.size()});
  return t.size() + placeholders * longest * 6;
}

SecretText render_secret(std::string_view head, std::string_view t, const Values& v, bool html,
                         std::string_view tail) {
  std::string out;
  internal::WipeOnExit wipe_out(out);
  out.reserve(head.size() + upper_bound(t, v) + tail.size());
  const std::size_t capacity = out.capacity();
  out += head;
  expand(out, t, v, html);
  out += tail;
  assert(out.capacity() == capacity);  // no reallocation: nothing of the code left unwiped
  (void)capacity;
  return SecretText::copy_of(out);
}

}  // namespace

// Turns entries (from a file or the built-ins) into a locale, with every check.
class TemplateLoader {
 public:
  static Status add(Templates& templates, const std::vector<internal::TemplateEntry>& entries) {
    std::string locale;
    std::array<std::string, 4> generic;
    std::array<std::array<std::string, 4>, 4> specific;  // [purpose][text key]
    std::array<std::array<bool, 4>, 4> has_specific{};
    std::array<bool, 4> has_generic{};
    for (const internal::TemplateEntry& e : entries) {
      const auto fail = [&](std::string_view why) {
        std::string m = "line " + std::to_string(e.line) + ": " + e.key + ": ";
        m += why;
        return Status(ErrorCode::kConfigFileInvalid, std::move(m));
      };
      if (e.key == "locale") {
        if (!valid_locale(e.value)) return fail("letters, digits and '-', at most 16 bytes");
        locale = lowercase(e.value);
        continue;
      }
      if (!placeholders_valid(e.value)) {
        return fail("a '{' that is not {code}, {minutes} or {app}");
      }
      bool known = false;
      for (std::size_t k = 0; k < kTextKeys.size() && !known; ++k) {
        if (e.key == kTextKeys[k]) {
          generic[k] = e.value, has_generic[k] = true, known = true;
        }
        for (std::size_t p = 0; p < kPurposeKeys.size() && !known; ++p) {
          if (e.key.size() == kPurposeKeys[p].size() + 1 + kTextKeys[k].size() &&
              e.key.starts_with(kPurposeKeys[p]) && e.key[kPurposeKeys[p].size()] == '.' &&
              e.key.ends_with(kTextKeys[k])) {
            specific[p][k] = e.value, has_specific[p][k] = true, known = true;
          }
        }
      }
      if (!known) return fail("unknown key");
    }
    if (locale.empty()) return {ErrorCode::kConfigFileInvalid, "no locale key"};
    Templates::Locale result;
    for (std::size_t p = 0; p < kPurposeKeys.size(); ++p) {
      std::array<std::string, 4> texts;
      for (std::size_t k = 0; k < kTextKeys.size(); ++k) {
        if (!has_specific[p][k] && !has_generic[k]) {
          return {ErrorCode::kConfigFileInvalid, "missing key " + std::string(kTextKeys[k])};
        }
        texts[k] = has_specific[p][k] ? specific[p][k] : generic[k];
        const bool has_code = texts[k].find("{code}") != std::string::npos;
        const std::string where = std::string(kPurposeKeys[p]) + "." + std::string(kTextKeys[k]);
        if (k == 1 && has_code) {
          return {ErrorCode::kConfigFileInvalid,
                  where + ": a subject must not hold {code} (see code_in_subject)"};
        }
        if (k != 1 && !has_code) {
          return {ErrorCode::kConfigFileInvalid, where + ": must contain {code}"};
        }
      }
      result[p] = {texts[0], texts[1], texts[2], texts[3]};
    }
    templates.locales_[locale] = std::move(result);
    return Status::ok();
  }
};

Result<Templates> Templates::builtin(TemplateSettings settings) {
  if (Status s = validate(settings); !s) return s;
  Templates templates(std::move(settings));
  for (const auto& entries : internal::builtin_locales()) {
    if (Status s = TemplateLoader::add(templates, entries); !s) {
      return Status(ErrorCode::kInternal, "built-in templates: " + s.message());
    }
  }
  return templates;
}

Status Templates::add_locale_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {ErrorCode::kUnavailable, "cannot read the template file"};
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return {ErrorCode::kUnavailable, "cannot read the template file"};
  auto entries = internal::parse_template_file(content.str());
  if (!entries) return entries.status();
  return TemplateLoader::add(*this, *entries);
}

Status Templates::load_directory(const std::filesystem::path& directory) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(directory, ec)) {
    if (entry.path().extension() == ".templates") files.push_back(entry.path());
  }
  if (ec) return {ErrorCode::kUnavailable, "cannot list the template directory"};
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    if (Status s = add_locale_file(file); !s) {
      return Status(s.code(), file.filename().string() + ": " + s.message());
    }
  }
  return Status::ok();
}

const Templates::Locale& Templates::resolve(std::string_view locale) const {
  const std::string wanted = lowercase(locale);
  if (auto it = locales_.find(wanted); it != locales_.end()) return it->second;
  if (const std::size_t dash = wanted.find('-'); dash != std::string::npos) {
    if (auto it = locales_.find(wanted.substr(0, dash)); it != locales_.end()) return it->second;
  }
  return locales_.find("en")->second;  // built in, never replaced by an empty locale
}

Result<RenderedMessage> Templates::render(Channel channel, Purpose purpose, std::string_view locale,
                                          std::string_view code,
                                          std::chrono::minutes lifetime) const {
  if (!is_valid_purpose(purpose)) return Status(ErrorCode::kInvalidArgument, "unknown purpose");
  if (channel != Channel::kPhone && channel != Channel::kEmail) {
    return Status(ErrorCode::kInvalidArgument, "unknown channel");
  }
  bool digits = !code.empty() && code.size() <= kMaxCodeDigits;
  for (const char c : code) digits = digits && c >= '0' && c <= '9';
  if (!digits) return Status(ErrorCode::kInvalidArgument, "a code is 1-16 ASCII digits");
  const Texts& t = resolve(locale)[static_cast<std::size_t>(purpose) - 1];
  const std::string minutes = std::to_string(std::max<long long>(1, lifetime.count()));
  const Values values{code, minutes, settings_.app_name};
  RenderedMessage out;
  if (channel == Channel::kPhone) {
    std::string tail;
    tail.reserve(settings_.domain.size() + settings_.android_app_hash.size() + code.size() + 8);
    if (!settings_.domain.empty()) tail.append("\n@").append(settings_.domain).append(" #") += code;
    if (!settings_.android_app_hash.empty()) {
      tail += settings_.domain.empty() ? '\n' : ' ';
      tail += settings_.android_app_hash;
    }
    out.text = render_secret({}, t.sms, values, /*html=*/false, tail);
    sodium_memzero(tail.data(), tail.size());
    return out;
  }
  std::string subject_prefix;
  if (settings_.code_in_subject) subject_prefix.append(code) += " - ";
  out.subject = render_secret(subject_prefix, t.subject, values, /*html=*/false, {});
  sodium_memzero(subject_prefix.data(), subject_prefix.size());
  out.text = render_secret({}, t.text, values, /*html=*/false, {});
  out.html = render_secret({}, t.html, values, /*html=*/true, {});
  return out;
}

std::vector<TemplateProblem> Templates::check(int max_code_length) const {
  std::vector<TemplateProblem> problems;
  const std::string code(static_cast<std::size_t>(std::clamp<int>(max_code_length, 1, 16)), '9');
  for (const auto& [name, locale] : locales_) {
    for (std::size_t p = 0; p < kPurposeKeys.size(); ++p) {
      const auto purpose = static_cast<Purpose>(p + 1);
      auto rendered = render(Channel::kPhone, purpose, name, code, std::chrono::minutes(99));
      if (!rendered) continue;  // not reachable: the code and purpose are valid
      const SmsEncoding e = sms_encoding(rendered->text.reveal());
      if (e.segments > 1) problems.push_back({name, purpose, e});
    }
  }
  return problems;
}

std::vector<std::string> Templates::locales() const {
  std::vector<std::string> names;
  for (const auto& [name, locale] : locales_) names.push_back(name);
  return names;
}

}  // namespace veribind
