/**
 * `fleet cmd <store>/<device> <name> [key=value ...]`: sends one command through the fleet
 * service, waits for the mirror's result and prints it. Arguments are `key=value` (whole numbers
 * become numbers: `fleet cmd s1/m1 logs lines=50`, `fleet cmd s1/m1 log-level level=debug durationS=600`).
 * Exit status: 0 ok, 1 failed or refused by the mirror, 3 no result within the wait (or ever: unanswered).
 */
import { z } from 'zod';
import { COMMAND_NAMES, type CommandName } from '../protocol/commands.ts';
import { CliError, type Call } from './client.ts';

export const CMD_USAGE = 'usage: fleet cmd <store>/<device> <restart|reload-config|logs|self-test|log-level> [key=value ...] [--timeout S] [--async]';

const Row = z.looseObject({
  id: z.string(),
  storeId: z.string(),
  deviceId: z.string(),
  name: z.string(),
  issuedBy: z.string(),
  status: z.string(),
  reason: z.string().nullable(),
  field: z.string().nullable(),
  error: z.string().nullable(),
  output: z.record(z.string(), z.unknown()).nullable(),
});
export const CommandAnswer = z.looseObject({ command: Row });
type Row = z.infer<typeof Row>;

export interface CmdRequest {
  target: string;
  name: string;
  args: string[];
  timeoutS?: string;
  async?: boolean;
}

function parseArgs(pairs: string[]): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const pair of pairs) {
    const i = pair.indexOf('=');
    if (i < 1) throw new CliError(`argument "${pair}" is not key=value\n${CMD_USAGE}`, 2);
    const value = pair.slice(i + 1);
    args[pair.slice(0, i)] = /^-?\d+$/.test(value) ? Number(value) : value;
  }
  return args;
}

/** What an operator reads: the outcome line, then the command's own output. */
export function commandView(c: Row): string {
  const head = `${c.name} on ${c.storeId}/${c.deviceId} (${c.id}, sent by ${c.issuedBy}): ${c.status}`;
  if (c.status === 'sent') return `${head}\nno result yet; see it later with GET /api/commands/${c.id}`;
  if (c.status === 'unanswered') return `${head}\nthe mirror never answered before the command expired (offline?); send it again once it is online`;
  const why = c.status === 'ok' ? '' : `\n  ${c.reason ? `${c.reason}: ` : ''}${c.error ?? ''}`;
  const o = c.output ?? {};
  let body = '';
  if (c.name === 'logs' && Array.isArray(o.lines)) body = `\n${(o.lines as string[]).join('\n')}${o.truncated ? '\n(older lines cut to fit)' : ''}`;
  else if (c.name === 'self-test' && Array.isArray(o.checks)) {
    body = `\n${(o.checks as Array<{ name: string; ok: boolean; detail: string; ms: number }>).map((k) => `  ${k.ok ? 'PASS' : 'FAIL'}  ${k.name.padEnd(7)} ${k.detail} (${k.ms} ms)`).join('\n')}`;
  } else if (c.output) body = `\n  ${JSON.stringify(c.output)}`;
  return head + why + body;
}

export async function sendCommand(call: Call, req: CmdRequest): Promise<{ human: string; data: z.infer<typeof CommandAnswer>; code: number }> {
  const m = /^([A-Za-z0-9_-]{1,64})\/([A-Za-z0-9_-]{1,64})$/.exec(req.target);
  if (!m) throw new CliError(`"${req.target}" is not <store>/<device>\n${CMD_USAGE}`, 2);
  if (!(COMMAND_NAMES as readonly string[]).includes(req.name)) throw new CliError(`unknown command "${req.name}": ${COMMAND_NAMES.join(', ')}\n${CMD_USAGE}`, 2);
  const timeoutS = req.timeoutS === undefined ? undefined : Number(req.timeoutS);
  if (timeoutS !== undefined && !(Number.isInteger(timeoutS) && timeoutS >= 1 && timeoutS <= 120)) throw new CliError('--timeout: whole seconds, 1-120', 2);
  const body = { name: req.name as CommandName, args: parseArgs(req.args), wait: !req.async, ...(timeoutS === undefined ? {} : { timeoutS }) };
  const data = await call(CommandAnswer, 'POST', `/api/devices/${m[1]}/${m[2]}/commands`, { body });
  const s = data.command.status;
  const code = s === 'ok' ? 0 : s === 'sent' ? (req.async ? 0 : 3) : s === 'unanswered' ? 3 : 1;
  return { human: commandView(data.command), data, code };
}
