// The Linux kernel's boot id: the same for every process of one boot of one machine (containers included).
import { readFile } from 'node:fs/promises';

export async function readBootId(path = '/proc/sys/kernel/random/boot_id'): Promise<string | undefined> {
  try {
    const id = (await readFile(path, 'utf8')).trim();
    return id === '' ? undefined : id;
  } catch {
    return undefined; // not Linux, or /proc not mounted: leases are then judged by their heartbeat alone
  }
}
