/*
 * bcryptprimitives.c: a stand-in bcryptprimitives.dll for Wine 8.0, used
 * only by the Windows test phase (scripts/wine/prefix). It is never shipped.
 *
 * Why: the Go runtime (since Go 1.24) fills its random state at start-up by
 * calling ProcessPrng from bcryptprimitives.dll, and aborts when the DLL or
 * the export is missing. Wine 8.0 (Debian 12) has neither; later Wine
 * releases do. This DLL exports ProcessPrng on top of advapi32's
 * SystemFunction036 (RtlGenRandom), which Wine 8.0 implements by reading
 * the host's random source.
 *
 * Build: x86_64-w64-mingw32-gcc -shared -O2 -o bcryptprimitives.dll \
 *            bcryptprimitives.c bcryptprimitives.def -ladvapi32
 */
#include <windows.h>

/* RtlGenRandom's real name; advapi32 exports it under this one. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/*
 * ProcessPrng fills data with len random bytes. Its documented contract is
 * that it always succeeds and returns TRUE; Go ignores the result. Since
 * SystemFunction036 takes a 32-bit length, a larger request is filled in
 * chunks. If the host random source ever failed we must not hand back
 * predictable bytes as if they were random: terminate the process instead
 * (fail closed; this is what a CSPRNG failure means for Go anyway).
 */
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!SystemFunction036(data, n)) {
			ExitProcess(0xC0000001); /* STATUS_UNSUCCESSFUL */
		}
		data += n;
		len -= n;
	}
	return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
	(void)inst;
	(void)reason;
	(void)reserved;
	return TRUE;
}
