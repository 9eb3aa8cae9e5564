// Locating an optimized BLAS that is already loaded in the process (numpy's
// OpenBLAS) and the C signatures used to call it; the choice is made in cblas.pyx.
#pragma once
#include <cstdint>

#if defined(_WIN32)
#include <windows.h>
#else
#include <dlfcn.h>
#endif

namespace thinc_blas {

// CBLAS enum values shared by OpenBLAS, MKL and the reference CBLAS.
enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };

typedef void (*sgemm_lp64_t)(int, int, int, int, int, int, float, const float*, int, const float*, int, float,
                             float*, int);
typedef void (*dgemm_lp64_t)(int, int, int, int, int, int, double, const double*, int, const double*, int,
                             double, double*, int);
typedef void (*sgemm_ilp64_t)(int, int, int, int64_t, int64_t, int64_t, float, const float*, int64_t,
                              const float*, int64_t, float, float*, int64_t);
typedef void (*dgemm_ilp64_t)(int, int, int, int64_t, int64_t, int64_t, double, const double*, int64_t,
                              const double*, int64_t, double, double*, int64_t);
typedef int (*arch_query_id_t)(void);
typedef const char* (*arch_string_t)(int);
typedef char* (*corename_t)(void);

// Looks a symbol up in an already-loaded shared library and everything it
// links against; never loads anything new, so a missing library gives NULL.
inline void* find_loaded_symbol(const char* library_path, const char* name) {
#if defined(_WIN32)
    HMODULE handle = GetModuleHandleA(library_path);
    if (handle == NULL) return NULL;
    return reinterpret_cast<void*>(GetProcAddress(handle, name));
#else
    void* handle = dlopen(library_path, RTLD_NOW | RTLD_NOLOAD);
    if (handle == NULL) return NULL;
    void* symbol = dlsym(handle, name);
    dlclose(handle);
    return symbol;
#endif
}

}  // namespace thinc_blas
