/* pidwrap (for timeshare, where this program is pid 1; run with a small pid_max,
 * such as the kernel option pid_max=400): pids wrap around below pid_max without
 * reusing one still in use. Past the reserved pids (300), leaves a process group whose leader has exited (its
 * member lives on), a session whose leader has exited, and an unreaped zombie;
 * then forks and reaps short-lived children, more than pid_max of them, and
 * checks every pid they got. Exit status: failed checks.
 *   pidwrap PID_MAX */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "include/testlib.h"

/* Forks a child that makes itself a process group leader (or, with `session`, a
 * session leader), forks a member that pauses for good, and exits; reaps it.
 * Returns the leader's pid; the member's pid goes to `member`. */
static pid_t leaderless(int session, pid_t *member)
{
    int channel[2];
    pipe(channel);
    pid_t leader = fork();
    if (leader == 0) {
        if (session ? setsid() < 0 : setpgid(0, 0) != 0)
            _exit(1);
        pid_t child = fork();
        if (child == 0)
            for (;;)
                pause();
        write(channel[1], &child, sizeof child);
        _exit(0);
    }
    read(channel[0], member, sizeof *member);
    close(channel[0]);
    close(channel[1]);
    waitpid(leader, NULL, 0);
    return leader;
}

int main(int argc, char **argv)
{
    int pid_max = argc > 1 ? atoi(argv[1]) : 0;
    if (getpid() != 1 || pid_max <= 300) {
        fprintf(stderr, "pidwrap: run as pid 1 with pid_max=N (N > 300) given\n");
        return 2;
    }
    /* Past the reserved pids first, so that the ones to keep are among those a wrap
     * comes back to. */
    for (pid_t child = 0; child < 300 + (pid_max - 300) / 2;) {
        child = fork();
        if (child == 0)
            _exit(0);
        waitpid(child, NULL, 0);
    }
    pid_t group_member, session_member;
    pid_t group = leaderless(0, &group_member);
    pid_t session = leaderless(1, &session_member);
    pid_t zombie = fork();
    if (zombie == 0)
        _exit(0);
    int below = 1, wrapped = 0, above_reserved = 1, live = 0, zombies = 0, groups = 0, sessions = 0;
    pid_t previous = zombie;
    for (int i = 0; i < 3 * pid_max; i++) {
        pid_t child = fork();
        if (child < 0) {
            printf("fork: %s\n", strerror(errno));
            return 1;
        }
        if (child == 0)
            _exit(0);
        waitpid(child, NULL, 0);
        below &= child < pid_max;
        if (child < previous) {
            wrapped = 1;
            above_reserved &= child >= 300;
        }
        previous = child;
        live += child == 1 || child == group_member || child == session_member;
        zombies += child == zombie;
        groups += child == group;
        sessions += child == session;
    }
    printf("pids below pid_max: %s\n", yes(below));
    printf("pids wrapped around, to 300 and above: %s\n", yes(wrapped && above_reserved));
    printf("a live process's pid reused: %s\n", yes(live));
    printf("a zombie's pid reused: %s\n", yes(zombies));
    printf("the id of a process group whose leader is gone reused: %s\n", yes(groups));
    printf("the id of a session whose leader is gone reused: %s\n", yes(sessions));
    kill(group_member, SIGKILL);
    kill(session_member, SIGKILL);
    return !below + !(wrapped && above_reserved) + live + zombies + groups + sessions;
}
