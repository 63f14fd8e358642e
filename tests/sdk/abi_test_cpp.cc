// The same ABI test compiled as C++, as the host and C++ plugins see the header.
#include "abi_test.c"  // NOLINT(bugprone-suspicious-include)
