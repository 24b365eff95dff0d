// The library is built with hidden visibility: only what these macros mark is exported from a shared
// libfastaug (the kernels, their templates and the internal helpers stay inside). FASTAUG_API marks a type or a
// function (an exception type's typeinfo is then shared, so `catch` works across the library boundary);
// FASTAUG_API_BEGIN / FASTAUG_API_END mark every declaration between them (ops.hpp). GCC and Clang on Linux and
// macOS; Windows DLLs are not supported.
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define FASTAUG_API __attribute__((visibility("default")))
#define FASTAUG_API_BEGIN _Pragma("GCC visibility push(default)")
#define FASTAUG_API_END _Pragma("GCC visibility pop")
#else
#define FASTAUG_API
#define FASTAUG_API_BEGIN
#define FASTAUG_API_END
#endif
