// libFuzzer target: Python source as the frameworks plugin and setup.py reading see it (a project's
// own files are untrusted input): tokens, string values, the module's structure, every call's
// arguments and every assignment's value as a literal.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ocifs/python_source.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace py = ocifs::sdk::python;
  const py::Module m(std::string_view(reinterpret_cast<const char*>(data), size));
  for (const py::Token& t : m.tokens()) (void)py::StringValue(t);
  for (const auto& c : m.calls()) (void)m.Arguments(c);
  for (const auto& a : m.assignments()) {
    size_t i = a.value;
    (void)py::ParseLiteral(m.tokens(), i);
  }
  return 0;
}
