/* Internal declarations shared by the cxx-runtime sources (not installed). */
#ifndef FERRITE_CXX_RUNTIME_H
#define FERRITE_CXX_RUNTIME_H

/* thread_atexit.c: run the calling thread's thread_local destructors.
 * atexit.c refers to it weakly, so that it does not drag thread_atexit.c
 * into programs without thread_local objects. */
void __ferrite_thread_dtors_at_exit(void);

/* ctype_tables.c: glibc's C-locale tables, 384 entries for -128..255
 * (the pointers glibc hands out point 128 entries in). */
extern const unsigned short __ferrite_c_ctype_b[384];
extern const int __ferrite_c_tolower[384];
extern const int __ferrite_c_toupper[384];

#endif
