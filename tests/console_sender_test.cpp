#include <catch2/catch.hpp>
#include <sstream>

#include "veribind/sender.hpp"

using namespace veribind;

TEST_CASE(
    "console sender: says plainly that nothing was sent, and shows only the masked "
    "destination",
    "[delivery]") {
  std::ostringstream out;
  ConsoleSender sender(out);
  const Delivery d{Channel::kPhone, "+923001234567",  "+92 *******67",
                   "042917",        Purpose::kSignup, Timestamp{}};
  REQUIRE(sender.send(d).is_ok());
  const std::string line = out.str();
  CHECK(line.find("NO SMS WAS SENT") != std::string::npos);
  CHECK(line.find("+92 *******67") != std::string::npos);
  CHECK(line.find("042917") != std::string::npos);
  CHECK(line.find("3001234567") == std::string::npos);
}

TEST_CASE("console sender: a stream that cannot be written is kDeliveryFailed", "[delivery]") {
  std::ostringstream out;
  out.setstate(std::ios::badbit);
  ConsoleSender sender(out);
  const Delivery d{Channel::kEmail, "a@example.com", "a***@example.com",
                   "123456",        Purpose::kLogin, Timestamp{}};
  CHECK(sender.send(d).code() == ErrorCode::kDeliveryFailed);
}
