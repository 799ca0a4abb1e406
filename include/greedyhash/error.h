#pragma once

#include <stdexcept>
#include <string>

namespace greedyhash {

// An error caused by the user's input (a file, a flag, a config value). Its message is
// one line that names the offending thing and what was expected; the executables print
// it as is and exit non-zero. Anything else escaping to main() is a bug.
class Error : public std::runtime_error {
 public:
  // Control characters in `message` (a newline or a terminal escape quoted from a damaged
  // file) become '?', so the message is one printable line whatever it quotes.
  explicit Error(const std::string& message) : std::runtime_error(printable(message)) {}

 private:
  static std::string printable(std::string text) {
    for (char& c : text) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    }
    return text;
  }
};

// The first line of `text`. LibTorch's error messages append a C++ backtrace; a
// greedyhash::Error quoting one keeps only this.
inline std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

}  // namespace greedyhash
