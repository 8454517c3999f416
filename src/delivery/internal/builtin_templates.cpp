#include "delivery/internal/builtin_templates.hpp"

#include <array>
#include <string>
#include <string_view>

namespace veribind::internal {
namespace {

// One purpose's wording. The SMS is short on purpose: with the WebOTP line it must stay one
// segment, and Urdu is UCS-2 (70 units).
struct Wording {
  std::string_view key;  // purpose_name()
  std::string_view sms;
  std::string_view subject;
  std::string_view lead;     // the email's first sentence, before the code
  std::string_view closing;  // the email's last sentence
};

struct Language {
  std::string_view locale;
  std::string_view html_attributes;  // on <html>
  std::string_view expiry;           // the email's sentence after the code
  std::array<Wording, 4> purposes;
};

constexpr std::string_view kEnIgnore =
    "If you did not ask for this code, you can ignore this email.";
constexpr std::string_view kUrIgnore =
    "اگر آپ نے یہ کوڈ نہیں مانگا تو اس ای میل کو نظر انداز کر دیں۔";

constexpr Language kEnglish = {
    "en",
    "lang=\"en\"",
    "It expires in {minutes} minutes. Do not share it with anyone: {app} will never ask you "
    "for it.",
    {{
        {"signup",
         "{code} is your {app} verification code. It expires in {minutes} min. Never share it.",
         "Your {app} verification code", "Your {app} verification code is:", kEnIgnore},
        {"login", "{code} is your {app} sign-in code. It expires in {minutes} min. Never share it.",
         "Your {app} sign-in code", "Your {app} sign-in code is:", kEnIgnore},
        {"recovery",
         "{code} is your {app} account recovery code. It expires in {minutes} min. Never share it.",
         "Recover your {app} account", "Your {app} account recovery code is:",
         "If you did not ask to recover your account, someone may be trying to get into it: do "
         "not give this code to anyone."},
        {"change-identifier", "{code} is your {app} code to confirm this number. Never share it.",
         "Confirm your new {app} email address",
         "Your {app} code to confirm this email address is:", kEnIgnore},
    }},
};

constexpr Language kUrdu = {
    "ur",
    "lang=\"ur\" dir=\"rtl\"",
    "یہ کوڈ {minutes} منٹ میں ختم ہو جائے گا۔ اسے کسی کو نہ بتائیں؛ {app} آپ سے یہ کوڈ کبھی "
    "نہیں مانگے گا۔",
    {{
        {"signup", "{app} تصدیقی کوڈ {code}", "آپ کا {app} تصدیقی کوڈ",
         "آپ کا {app} تصدیقی کوڈ یہ ہے:", kUrIgnore},
        {"login", "{app} لاگ ان کوڈ {code}", "آپ کا {app} لاگ ان کوڈ",
         "آپ کا {app} لاگ ان کوڈ یہ ہے:", kUrIgnore},
        {"recovery", "{app} بحالی کوڈ {code}", "اپنا {app} اکاؤنٹ بحال کریں",
         "آپ کے {app} اکاؤنٹ کی بحالی کا کوڈ یہ ہے:",
         "اگر آپ نے اکاؤنٹ کی بحالی کی درخواست نہیں کی تو شاید کوئی آپ کے اکاؤنٹ میں داخل ہونے کی "
         "کوشش کر رہا ہے: یہ کوڈ کسی کو نہ دیں۔"},
        {"change-identifier", "{app} تصدیقی کوڈ {code}", "اپنے نئے {app} ای میل پتے کی تصدیق کریں",
         "اس ای میل پتے کی تصدیق کے لیے آپ کا {app} کوڈ یہ ہے:", kUrIgnore},
    }},
};

std::string join(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (const std::string_view p : parts) out += p;
  return out;
}

std::vector<TemplateEntry> entries_for(const Language& language) {
  std::vector<TemplateEntry> entries;
  entries.push_back({"locale", std::string(language.locale), 0});
  for (const Wording& w : language.purposes) {
    const std::string prefix = join({w.key, "."});
    entries.push_back({prefix + "sms", std::string(w.sms), 0});
    entries.push_back({prefix + "email.subject", std::string(w.subject), 0});
    entries.push_back({prefix + "email.text",
                       join({w.lead, "\n\n{code}\n\n", language.expiry, "\n\n", w.closing, "\n"}),
                       0});
    entries.push_back(
        {prefix + "email.html",
         join({"<!DOCTYPE html>\n<html ", language.html_attributes,
               "><body style=\"font-family:sans-serif\">\n<p>", w.lead,
               "</p>\n<p style=\"font-size:28px;font-weight:bold;letter-spacing:4px\">{code}</p>\n"
               "<p>",
               language.expiry, "</p>\n<p>", w.closing, "</p>\n</body></html>\n"}),
         0});
  }
  // The generic keys a locale file must give; built-ins name every purpose, so these are the
  // signup texts.
  const Wording& first = language.purposes[0];
  for (const char* key : {"sms", "email.subject", "email.text", "email.html"}) {
    const std::string wanted = join({first.key, ".", key});
    for (const TemplateEntry& e : entries) {
      if (e.key == wanted) {
        entries.push_back({key, e.value, 0});
        break;
      }
    }
  }
  return entries;
}

}  // namespace

std::vector<std::vector<TemplateEntry>> builtin_locales() {
  return {entries_for(kEnglish), entries_for(kUrdu)};
}

}  // namespace veribind::internal
