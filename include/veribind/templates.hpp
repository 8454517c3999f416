// Templates: the text of the SMS and email that carry a code, per channel, purpose and locale.
//
// Example:
//   veribind::TemplateSettings settings;
//   settings.app_name = "Acme";
//   settings.domain = "acme.example";
//   auto templates = veribind::Templates::builtin(settings);
//   auto message = templates->render(Channel::kPhone, Purpose::kLogin, "pt-BR", "123456", 10min);
//
// Built in: English ("en") and Urdu ("ur") for every channel and purpose. More locales come from
// files (add_locale_file, load_directory). A request's locale is looked up exactly, then by its
// language part ("pt-BR" -> "pt"), then "en"; case does not matter.
//
// Placeholders: {code}, {minutes} (the code's remaining lifetime, rounded up), {app}. In the
// HTML part every substituted value is HTML-escaped; the template's own markup is trusted (it is
// the operator's). Any other '{' in a template is refused when it is loaded, so that a typo never
// reaches an end user.
//
// SMS: when a domain is configured, the text ends with the origin-bound line that WebOTP and iOS
// read ("@acme.example #123456"), followed by " " and the Android SMS Retriever hash when one is
// configured (alone on the last line when there is no domain). Email subjects never hold the code
// (a subject shows on a locked screen) unless code_in_subject is set: then the subject is
// "<code> - <subject>".
//
// Length: a code should arrive in one SMS segment (see sms_encoding.hpp). The built-in Urdu SMS
// is UCS-2, 70 units: it fits with a 4-character app name, a 30-character domain and a 10-digit
// code, or with a 12-character domain and an Android hash; English (GSM-7, 160) has ample room.
// Run check() with the deployment's settings when the configuration is loaded.
//
// Locale file format (UTF-8, one `key = value` a line; '#' starts a comment line; in a value,
// "\n" is a line break and "\\" a backslash; leading and trailing blanks are trimmed):
//   locale = pt-BR                       (required: letters, digits, '-', at most 16 bytes)
//   sms = {code} é o seu código {app}.   (required, with email.subject, email.text, email.html)
//   email.subject = Seu código {app}
//   email.text = Seu código {app} é {code}.\nEle expira em {minutes} minutos.
//   email.html = <p>Seu código {app} é <b>{code}</b>.</p>
//   login.sms = {code} é o seu código de acesso {app}.   (optional, per purpose: signup, login,
//                                                         recovery, change-identifier)
// sms, email.text and email.html must contain {code}; email.subject must not (see above).
#pragma once

#include <array>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "veribind/channel.hpp"
#include "veribind/purpose.hpp"
#include "veribind/result.hpp"
#include "veribind/secret.hpp"
#include "veribind/sms_encoding.hpp"

namespace veribind {

struct TemplateSettings {
  std::string app_name;  // required: 1-64 bytes of printable UTF-8
  // Optional: the web origin's host for the WebOTP / iOS origin-bound line ("acme.example"):
  // lowercase letters, digits, '-' and '.', at most 253 bytes.
  std::string domain;
  // Optional: the Android SMS Retriever app hash, exactly 11 characters of base64.
  std::string android_app_hash;
  bool code_in_subject = false;  // see the header comment: off unless you accept lock screens
};

// One message, rendered. Everything that may hold the code is SecretText.
struct RenderedMessage {
  SecretText subject;  // email only (empty for SMS); holds the code only with code_in_subject
  SecretText text;     // the SMS, or the email's text/plain part
  SecretText html;     // the email's text/html part; empty for SMS
};

// An SMS template that needs more than one segment with the longest code.
struct TemplateProblem {
  std::string locale;
  Purpose purpose = Purpose::kSignup;
  SmsEncoding encoding;
};

class Templates {
 public:
  // Validates `settings` (kInvalidConfig naming the field) and loads the built-in locales.
  static Result<Templates> builtin(TemplateSettings settings);

  Templates(Templates&&) noexcept = default;
  Templates& operator=(Templates&&) noexcept = default;
  Templates(const Templates&) = default;
  Templates& operator=(const Templates&) = default;

  // Adds (or replaces) the locale the file names. kConfigFileInvalid, naming the line, for a
  // syntax error, an unknown key, a missing required key or a bad placeholder; kUnavailable if
  // the file cannot be read. On failure nothing is added.
  Status add_locale_file(const std::filesystem::path& path);
  // add_locale_file for every "*.templates" file in `directory`, in name order; stops at the
  // first failure (the files before it stay added).
  Status load_directory(const std::filesystem::path& directory);

  // The message for one delivery. `locale` falls back as described above; `code` is copied into
  // SecretText only. kInvalidArgument for a Purpose or Channel value that is not one.
  [[nodiscard]] Result<RenderedMessage> render(Channel channel, Purpose purpose,
                                               std::string_view locale, std::string_view code,
                                               std::chrono::minutes lifetime) const;

  // Every SMS template (purpose x locale) that needs more than one segment when rendered with a
  // code of `max_code_length` digits and a lifetime of two digits of minutes, with its encoding.
  // Meant to run once at configuration time; empty when everything fits.
  [[nodiscard]] std::vector<TemplateProblem> check(int max_code_length) const;

  // The locales held, lowercase, sorted.
  [[nodiscard]] std::vector<std::string> locales() const;
  [[nodiscard]] const TemplateSettings& settings() const noexcept { return settings_; }

 private:
  struct Texts {  // one purpose's texts in one locale
    std::string sms, subject, text, html;
  };
  using Locale = std::array<Texts, 4>;  // by Purpose value - 1
  friend class TemplateLoader;

  explicit Templates(TemplateSettings settings) : settings_(std::move(settings)) {}
  [[nodiscard]] const Locale& resolve(std::string_view locale) const;

  TemplateSettings settings_;
  std::map<std::string, Locale, std::less<>> locales_;  // key: lowercase locale
};

}  // namespace veribind
