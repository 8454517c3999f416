// veribind: verify a phone number or an email address with a one-time code, and bind accounts to
// it, keeping only keyed blind indexes at rest. Run `veribind demo` for a walk-through.
#include <iostream>

#include "cli.hpp"

int main(int argc, char** argv) {
  namespace cli = veribind::cli;
  return cli::run_command(cli::parse_command_line(argc, argv, std::cout, std::cerr));
}
