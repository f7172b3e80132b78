// Loaded with `node --import ./bench/probe.mjs …`: at exit, writes this Node process's own resource usage
// (not its children's, e.g. nodetool's JVM) to $CBR_BENCH_PROBE as JSON: peak RSS, CPU, and bytes read
// (/proc/self/io: rchar = bytes returned by read syscalls, read_bytes = bytes fetched from the block device).
import { writeFileSync, readFileSync } from 'node:fs';
const out = process.env.CBR_BENCH_PROBE;
if (out) {
  // Peaks of the heap, external memory and array buffers, sampled: tells V8 heap growth from native buffers.
  const peak = { heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  const sample = () => {
    const m = process.memoryUsage();
    for (const k of Object.keys(peak)) peak[k] = Math.max(peak[k], m[k]);
  };
  setInterval(sample, 250).unref();
  process.on('exit', () => {
    sample();
    const io = Object.fromEntries(readFileSync('/proc/self/io', 'utf8').trim().split('\n')
      .map((l) => l.split(':')).map(([k, v]) => [k.trim(), Number(v)]));
    const ru = process.resourceUsage();
    writeFileSync(out, JSON.stringify({
      maxRssKiB: ru.maxRSS, userS: ru.userCPUTime / 1e6, sysS: ru.systemCPUTime / 1e6,
      rchar: io.rchar, readBytes: io.read_bytes, syscr: io.syscr,
      peakMiB: Object.fromEntries(Object.entries(peak).map(([k, v]) => [k, Math.round(v / 1048576)])),
    }));
  });
}
