// Links against the installed library and runs one verification end to end on SQLite.
#include <cstdio>
#include <string>
#include <veribind/postgres_store.hpp>
#include <veribind/smtp_sender.hpp>
#include <veribind/sqlite_store.hpp>
#include <veribind/templates.hpp>
#include <veribind/veribind.hpp>

namespace {
class KeepCode final : public veribind::Sender {
 public:
  veribind::Status send(const veribind::Delivery& d) override {
    code.assign(d.code);
    return {};
  }
  std::string code;
};
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  // Linked, not run: the PostgreSQL backend and its libpq dependency resolve from the install.
  if (argv[1][0] == '\0') return veribind::PostgresStore::open("postgresql://").is_ok() ? 0 : 3;
  // The delivery providers and their libcurl dependency resolve from the install too: a
  // configuration without a URL is refused, not crashed on.
  if (veribind::SmtpSender::create({}).code() != veribind::ErrorCode::kInvalidConfig) return 4;
  auto ring = veribind::KeyRing::from_master_key(veribind::SecretBytes::random(32));
  auto store = veribind::SqliteStore::open(argv[1]);
  if (!ring || !store) return 1;
  KeepCode sender;
  veribind::SystemClock clock;
  auto verifier = veribind::Verifier::create({}, *ring, **store, sender, clock);
  auto email = veribind::EmailAddress::parse("consumer@example.com");
  if (!verifier || !email) return 1;
  auto challenge = verifier->start(*email, veribind::Purpose::kSignup);
  if (!challenge) return 1;
  auto result = verifier->check(challenge->id, sender.code, veribind::Purpose::kSignup);
  if (!result || result->outcome != veribind::CheckOutcome::kVerified) return 1;
  // The delivery target resolves too: render the SMS that would carry the code.
  veribind::TemplateSettings settings;
  settings.app_name = "Consumer";
  auto templates = veribind::Templates::builtin(settings);
  if (!templates) return 1;
  auto sms = templates->render(veribind::Channel::kPhone, veribind::Purpose::kSignup, "en",
                               sender.code, std::chrono::minutes(10));
  if (!sms || sms->text.reveal().find(sender.code) == std::string_view::npos) return 1;
  std::puts("consumer: verified through an installed veribind");
  return 0;
}
