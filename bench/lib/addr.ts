/** IPv4 arithmetic for the address plans (bench subnets only). */
export const toInt = (a: string): number => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
export const toIp = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
export const plus = (a: string, k: number): string => toIp(toInt(a) + k);
