/*
 * fuzz_util.h - helpers shared by the libFuzzer targets (header only):
 * a per-process scratch directory (removed at exit; /dev/shm unless
 * $TMPDIR names another) and writing one input
 * into a file there, for loaders that take a path.
 */
#ifndef TAU_FUZZ_UTIL_H
#define TAU_FUZZ_UTIL_H

#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char fuzz_dir_path[512];

static inline int
fuzz_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path); /* best effort */
	return 0;
}

static inline void
fuzz_dir_cleanup(void)
{
	if (fuzz_dir_path[0] != '\0')
		nftw(fuzz_dir_path, fuzz_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* The process's scratch directory, made on first use (mkdtemp under
 * $TMPDIR, else /dev/shm or /tmp) and removed at exit. */
static inline const char *
fuzz_dir(void)
{
	if (fuzz_dir_path[0] == '\0') {
		/* tmpfs when there is one: the loaders fsync what they write */
		const char *t = getenv("TMPDIR");
		if (t == NULL || t[0] == '\0')
			t = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
		snprintf(fuzz_dir_path, sizeof(fuzz_dir_path), "%s/tau-fuzz.XXXXXX", t);
		if (mkdtemp(fuzz_dir_path) == NULL) {
			perror("fuzz: mkdtemp");
			abort();
		}
		atexit(fuzz_dir_cleanup);
	}
	return fuzz_dir_path;
}

/* Replaces the file path with the n bytes at data (aborts on I/O errors:
 * those are the harness's, not the code's under test). */
static inline void
fuzz_write_file(const char *path, const uint8_t *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror(path);
		abort();
	}
	size_t off = 0;
	while (off < n) {
		ssize_t w = write(fd, data + off, n - off);
		if (w <= 0) {
			perror(path);
			abort();
		}
		off += (size_t)w;
	}
	close(fd);
}

/* A NUL-terminated malloc'ed copy of the input (the caller frees). */
static inline char *
fuzz_cstr(const uint8_t *data, size_t n)
{
	char *s = malloc(n + 1);
	if (s == NULL)
		abort();
	if (n > 0)
		memcpy(s, data, n);
	s[n] = '\0';
	return s;
}

#endif
