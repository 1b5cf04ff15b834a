/* Added latency without sch_netem: a userspace delay line on an NFQUEUE queue (ft_delay.c). */
#ifndef ST_FAULTS_FT_DELAY_H
#define ST_FAULTS_FT_DELAY_H

/* Binds NFQUEUE queue_num in the calling process's network namespace and accepts every packet
 * delay_ms after it was queued, until SIGTERM or SIGINT (then releases every pending packet).
 * Runs in its own process (strand-faults --delay-queue Q --delay-ms D). Exit status: 0, 1 when
 * the queue cannot be bound (says why on stderr), 2 on bad arguments. */
int ft_delay_main(int queue_num, int delay_ms);

#endif
