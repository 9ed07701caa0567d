/* The Windows lane (scripts/windows-lane) only: Wine 8 lacks bcryptprimitives.ProcessPrng, which Rust programs
   such as uv.exe import; real Windows has it. Built with Debian gcc-mingw-w64-x86-64-win32 into the Wine prefix. */
#include <windows.h>
#include <bcrypt.h>
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    return BCryptGenRandom(NULL, data, (ULONG)len, BCRYPT_USE_SYSTEM_PREFERRED_RNG) == 0;
}
