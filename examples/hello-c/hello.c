/* hello-c: the smallest Ferrite service. Prints its arguments and environment and exits with 0. */
#include <stdio.h>
#include <sys/utsname.h>

extern char **environ;

int main(int argc, char **argv)
{
    struct utsname u;
    uname(&u);
    printf("Hello from %s on %s %s (%s)\n", argv[0], u.sysname, u.release, u.machine);
    for (int i = 1; i < argc; i++)
        printf("argument %d: %s\n", i, argv[i]);
    for (char **e = environ; *e; e++)
        printf("environment: %s\n", *e);
    return 0;
}
