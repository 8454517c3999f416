// A signup backend in miniature: verify a phone number, bind the new account to it, find it again.
#include <iostream>
#include <string>

#include "veribind/veribind.hpp"

namespace vb = veribind;

// Your SMS gateway goes here. This one keeps the code so the example can "type" it back.
class GatewaySender final : public vb::Sender {
 public:
  vb::Status send(const vb::Delivery& delivery) override {
    last_code.assign(delivery.code);
    return vb::Status::ok();
  }
  std::string last_code;
};

int fail(const vb::Status& status) {  // messages never contain the number, the address or the code
  std::cerr << vb::error_code_name(status.code()) << ": " << status.message() << '\n';
  return 1;
}

int main() {
  // In production: vb::KeyRing::load_key_file("/etc/myapp/veribind.key") and a SqliteStore.
  auto ring = vb::KeyRing::from_master_key(vb::SecretBytes::random(vb::KeyRing::kMasterKeyBytes));
  if (!ring) return fail(ring.status());
  vb::MemoryStore store;
  GatewaySender sms;
  vb::SystemClock clock;
  auto verifier = vb::Verifier::create(vb::VerifierConfig{}, *ring, store, sms, clock);
  if (!verifier) return fail(verifier.status());
  auto registry = vb::Registry::create(vb::LinkPolicy::phone_linked(), *ring, store, store, clock);
  if (!registry) return fail(registry.status());

  // 1. The user types a number; send a signup code to it.
  auto phone = vb::PhoneNumber::parse("0300-1234567", "PK");
  if (!phone) return fail(phone.status());
  auto challenge = verifier->start(*phone, vb::Purpose::kSignup);
  if (!challenge) return fail(challenge.status());
  std::cout << "code sent to " << challenge->masked_destination << '\n';

  // 2. The user types the code back. Only a verified check yields what link() takes.
  auto result = verifier->check(challenge->id, sms.last_code, vb::Purpose::kSignup);
  if (!result) return fail(result.status());
  if (result->outcome != vb::CheckOutcome::kVerified) return 1;
  if (vb::Status s = registry->link("account-42", std::move(*result->verified)); !s) return fail(s);

  // 3. Later: which account holds this number? Another spelling, the same answer.
  auto same_number = vb::PhoneNumber::parse("+92 300 1234567");
  if (!same_number) return fail(same_number.status());
  auto accounts = registry->find(*same_number);
  if (!accounts) return fail(accounts.status());
  if (accounts->size() != 1) return 1;
  std::cout << "bound to " << accounts->front() << '\n';
  return 0;
}
