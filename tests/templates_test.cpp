#include "veribind/templates.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "fakes/outbox_harness.hpp"
#include "veribind/sms_encoding.hpp"

using namespace veribind;
using namespace std::chrono_literals;

namespace {

using veribind::testing::settings;

Templates builtin(TemplateSettings s = settings("Acme")) {
  auto t = Templates::builtin(std::move(s));
  REQUIRE(t.is_ok());
  return std::move(t).value();
}

std::string sms(const Templates& t, Purpose p, std::string_view locale,
                std::string_view code = "123456") {
  auto r = t.render(Channel::kPhone, p, locale, code, 10min);
  REQUIRE(r.is_ok());
  CHECK(r->subject.empty());
  CHECK(r->html.empty());
  return std::string(r->text.reveal());
}

// A scratch directory, removed with everything in it at the end of the test.
struct ScratchDir {
  ScratchDir() {
    path = std::filesystem::temp_directory_path() /
           ("veribind-templates-" + std::to_string(::getpid()) + "-" +
            std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    std::filesystem::create_directories(path);
  }
  ~ScratchDir() { std::filesystem::remove_all(path); }
  std::filesystem::path write(const std::string& name, const std::string& content) const {
    std::ofstream(path / name, std::ios::binary) << content;
    return path / name;
  }
  std::filesystem::path path;
};

constexpr const char* kPortuguese =
    "# Portuguese\n"
    "locale = pt\n"
    "sms = {code} é o seu código {app}.\n"
    "email.subject = Seu código {app}\n"
    "email.text = Seu código {app} é {code}.\\nEle expira em {minutes} minutos.\n"
    "email.html = <p>Seu código {app} é <b>{code}</b>.</p>\n"
    "login.sms = {code} é o seu código de acesso {app}.\n";

}  // namespace

TEST_CASE("templates: the English SMS names the app, the code and the lifetime", "[templates]") {
  const Templates t = builtin();
  CHECK(sms(t, Purpose::kLogin, "en") ==
        "123456 is your Acme sign-in code. It expires in 10 min. Never share it.");
  CHECK(sms(t, Purpose::kSignup, "").starts_with("123456 is your Acme verification code."));
  CHECK(sms(t, Purpose::kRecovery, "en").find("recovery") != std::string::npos);
}

TEST_CASE("templates: the Urdu SMS is Urdu text, sent as UCS-2", "[templates]") {
  const Templates t = builtin();
  const std::string text = sms(t, Purpose::kSignup, "ur");
  CHECK(text == "Acme تصدیقی کوڈ 123456");
  const SmsEncoding e = sms_encoding(text);
  CHECK(e.alphabet == SmsAlphabet::kUcs2);
  CHECK(e.units == 22);
  CHECK(e.segments == 1);
  auto mail = t.render(Channel::kEmail, Purpose::kLogin, "ur-PK", "123456", 10min);
  REQUIRE(mail.is_ok());
  CHECK(mail->subject.reveal() == "آپ کا Acme لاگ ان کوڈ");
  CHECK(mail->text.reveal().find("10 منٹ") != std::string_view::npos);
  CHECK(mail->html.reveal().find("dir=\"rtl\"") != std::string_view::npos);
}

TEST_CASE("templates: a locale falls back to its language, then to English", "[templates]") {
  ScratchDir dir;
  Templates t = builtin();
  REQUIRE(t.add_locale_file(dir.write("pt.templates", kPortuguese)).is_ok());
  CHECK(sms(t, Purpose::kLogin, "pt-BR") == "123456 é o seu código de acesso Acme.");
  CHECK(sms(t, Purpose::kSignup, "PT-br") == "123456 é o seu código Acme.");
  CHECK(sms(t, Purpose::kSignup, "fr-FR").starts_with("123456 is your Acme"));
  CHECK(sms(t, Purpose::kSignup, "zz").starts_with("123456 is your Acme"));
  CHECK(t.locales() == std::vector<std::string>{"en", "pt", "ur"});
}

TEST_CASE("templates: load_directory adds every .templates file", "[templates]") {
  ScratchDir dir;
  dir.write("pt-br.templates", [] {
    std::string c(kPortuguese);
    return c.replace(c.find("locale = pt"), 11, "locale = pt-BR");
  }());
  dir.write("notes.txt", "not a template");
  Templates t = builtin();
  REQUIRE(t.load_directory(dir.path).is_ok());
  CHECK(t.locales() == std::vector<std::string>{"en", "pt-br", "ur"});
  CHECK(sms(t, Purpose::kSignup, "pt-BR") == "123456 é o seu código Acme.");
  CHECK(sms(t, Purpose::kSignup, "pt").starts_with("123456 is your"));  // no "pt" itself
}

TEST_CASE("templates: with a domain the SMS ends with the WebOTP line", "[templates]") {
  const Templates t = builtin(settings("Acme", "acme.example"));
  const std::string text = sms(t, Purpose::kLogin, "en");
  CHECK(text.ends_with(" Never share it.\n@acme.example #123456"));
  const Templates android = builtin(settings("Acme", "acme.example", "FA+9qCX9VSu"));
  CHECK(sms(android, Purpose::kLogin, "ur").ends_with("\n@acme.example #123456 FA+9qCX9VSu"));
  const Templates hash_only = builtin(settings("Acme", "", "FA+9qCX9VSu"));
  CHECK(sms(hash_only, Purpose::kLogin, "en").ends_with("Never share it.\nFA+9qCX9VSu"));
  CHECK(sms(builtin(), Purpose::kLogin, "en").ends_with("Never share it."));
}

TEST_CASE("templates: an email subject never holds the code unless configured", "[templates]") {
  for (const Purpose p :
       {Purpose::kSignup, Purpose::kLogin, Purpose::kRecovery, Purpose::kChangeIdentifier}) {
    for (const char* locale : {"en", "ur"}) {
      auto m = builtin().render(Channel::kEmail, p, locale, "987654", 10min);
      REQUIRE(m.is_ok());
      CHECK(m->subject.reveal().find("987654") == std::string_view::npos);
      CHECK(m->text.reveal().find("987654") != std::string_view::npos);
      CHECK(m->html.reveal().find("987654") != std::string_view::npos);
    }
  }
  auto m = builtin(settings("Acme", "", "", true))
               .render(Channel::kEmail, Purpose::kLogin, "en", "987654", 10min);
  REQUIRE(m.is_ok());
  CHECK(m->subject.reveal() == "987654 - Your Acme sign-in code");
}

TEST_CASE("templates: the app name is HTML-escaped in the HTML part only", "[templates]") {
  auto m = builtin(settings("A&B <Co> \"x\""))
               .render(Channel::kEmail, Purpose::kSignup, "en", "123456", 5min);
  REQUIRE(m.is_ok());
  const std::string_view html = m->html.reveal();
  CHECK(html.find("A&amp;B &lt;Co&gt; &quot;x&quot;") != std::string_view::npos);
  CHECK(html.find("<Co>") == std::string_view::npos);
  CHECK(m->text.reveal().find("A&B <Co> \"x\"") != std::string_view::npos);
  CHECK(m->text.reveal().find("5 minutes") != std::string_view::npos);
}

TEST_CASE("templates: render refuses a code that is not digits and a bad purpose", "[templates]") {
  const Templates t = builtin();
  CHECK(t.render(Channel::kPhone, Purpose::kLogin, "en", "12a456", 10min).code() ==
        ErrorCode::kInvalidArgument);
  CHECK(t.render(Channel::kPhone, Purpose::kLogin, "en", "", 10min).code() ==
        ErrorCode::kInvalidArgument);
  CHECK(t.render(Channel::kPhone, static_cast<Purpose>(9), "en", "123456", 10min).code() ==
        ErrorCode::kInvalidArgument);
}

TEST_CASE("templates: bad settings are refused naming the field", "[templates][config]") {
  const auto field_of = [](TemplateSettings s) {
    auto r = Templates::builtin(std::move(s));
    REQUIRE(r.code() == ErrorCode::kInvalidConfig);
    return r.status().message();
  };
  CHECK(field_of(TemplateSettings()).find("app_name") != std::string::npos);
  CHECK(field_of(settings("A\nB")).find("app_name") != std::string::npos);
  CHECK(field_of(settings("A", "Acme.Example")).find("domain") != std::string::npos);
  CHECK(field_of(settings("A", "", "short")).find("android_app_hash") != std::string::npos);
}

TEST_CASE("templates: a bad locale file is refused with its line and nothing is added",
          "[templates]") {
  ScratchDir dir;
  Templates t = builtin();
  const auto refuse = [&](const std::string& content, std::string_view expected) {
    const Status s = t.add_locale_file(dir.write("x.templates", content));
    CHECK(s.code() == ErrorCode::kConfigFileInvalid);
    CHECK(s.message().find(expected) != std::string::npos);
  };
  const std::string base(kPortuguese);
  refuse(base + "colour = blue\n", "line 8");
  refuse(base + "no equals sign\n", "line 8");
  refuse(base + "signup.sms = {cod}\n", "{code}");
  refuse(base + "signup.email.subject = {code} is yours\n", "subject");
  refuse("locale = xx\nsms = {code}\n", "missing key");
  refuse(base + "recovery.sms = no code here\n", "recovery.sms");
  refuse(base + "locale = pt\n", "twice");
  refuse("sms = {code}\nemail.subject = s\nemail.text = {code}\nemail.html = {code}\n", "locale");
  CHECK(t.locales() == std::vector<std::string>{"en", "ur"});
  CHECK(t.add_locale_file(dir.path / "missing.templates").code() == ErrorCode::kUnavailable);
}

TEST_CASE("sms encoding: GSM-7 counts septets, 160 single and 153 per part", "[templates][sms]") {
  CHECK(sms_encoding("").segments == 1);
  const SmsEncoding one = sms_encoding(std::string(160, 'a'));
  CHECK(one.alphabet == SmsAlphabet::kGsm7);
  CHECK(one.units == 160);
  CHECK(one.segments == 1);
  CHECK(sms_encoding(std::string(161, 'a')).segments == 2);
  CHECK(sms_encoding(std::string(306, 'a')).segments == 2);
  CHECK(sms_encoding(std::string(307, 'a')).segments == 3);
  const SmsEncoding euro = sms_encoding("€");
  CHECK(euro.alphabet == SmsAlphabet::kGsm7);
  CHECK(euro.units == 2);
  CHECK(sms_encoding("[x]{y}~^|\\").units == 2 * 8 + 2);
  CHECK(sms_encoding("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà").alphabet == SmsAlphabet::kGsm7);
  CHECK(sms_encoding(std::string(159, 'a') + "€").segments == 2);  // 161 septets
}

TEST_CASE("sms encoding: anything outside GSM 03.38 makes the text UCS-2", "[templates][sms]") {
  CHECK(sms_encoding("a`b").alphabet == SmsAlphabet::kUcs2);  // the backtick is not GSM-7
  CHECK(sms_encoding("ç").alphabet == SmsAlphabet::kUcs2);    // only the capital Ç is
  const SmsEncoding urdu = sms_encoding("کوڈ");
  CHECK(urdu.alphabet == SmsAlphabet::kUcs2);
  CHECK(urdu.units == 3);
  CHECK(sms_encoding("😀").units == 2);  // beyond the BMP: a surrogate pair
  std::string seventy;
  for (int i = 0; i < 70; ++i) seventy += "ک";
  CHECK(sms_encoding(seventy).segments == 1);
  CHECK(sms_encoding(seventy + "ک").segments == 2);
  CHECK(sms_encoding(seventy + seventy).segments == 3);  // 140 units > 2 x 67
  CHECK(sms_encoding("\xff"
                     "abc")
            .alphabet == SmsAlphabet::kUcs2);
  CHECK(sms_alphabet_name(SmsAlphabet::kGsm7) == "gsm-7");
}

TEST_CASE("templates: every built-in SMS is one segment with a 30-character domain",
          "[templates][sms]") {
  const std::string domain = "login.a-thirty-char-domain.com";
  REQUIRE(domain.size() == 30);
  const Templates t = builtin(settings("Acme", domain));
  CHECK(t.check(10).empty());
  // The Android hash adds 12 units: Urdu (UCS-2, 70 units) then needs a shorter domain.
  CHECK(builtin(settings("Acme", "acme.example", "FA+9qCX9VSu")).check(10).empty());
  // A longer app name does not fit in Urdu, and check() says so.
  const auto long_app = builtin(settings("Acme Corporation", domain)).check(10);
  REQUIRE_FALSE(long_app.empty());
  CHECK(long_app[0].locale == "ur");
  CHECK(long_app[0].encoding.alphabet == SmsAlphabet::kUcs2);
  CHECK(long_app[0].encoding.segments == 2);
}

TEST_CASE("templates: check reports a template that needs more than one segment",
          "[templates][sms]") {
  ScratchDir dir;
  Templates t = builtin();
  std::string content(kPortuguese);
  content += "recovery.sms = " + std::string(160, 'x') + " {code}\n";
  REQUIRE(t.add_locale_file(dir.write("pt.templates", content)).is_ok());
  const auto problems = t.check(6);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].locale == "pt");
  CHECK(problems[0].purpose == Purpose::kRecovery);
  CHECK(problems[0].encoding.alphabet == SmsAlphabet::kGsm7);
  CHECK(problems[0].encoding.units == 167);
  CHECK(problems[0].encoding.segments == 2);
}
