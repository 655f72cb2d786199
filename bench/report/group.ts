import type { Figures } from './json.js';
import type { ReportGroup, ReportRow } from './types.js';

export interface Entry {
  readonly contender: string;
  readonly figures: Figures;
  readonly extra?: Readonly<Record<string, string>>;
}

export interface GroupSpec extends Omit<ReportGroup, 'rows'> {
  readonly entries: readonly Entry[];
}

/**
 * A group whose rows carry `median / baseline median` when a baseline is named: n/a when either is missing
 * (a failed contender, or a baseline absent from this run).
 */
export function makeGroup({ entries, ...group }: GroupSpec): ReportGroup {
  const base = entries.find((entry) => entry.contender === group.baseline)?.figures.median ?? null;
  const rows = entries.map(({ contender, figures, extra }): ReportRow => {
    const ratio =
      group.baseline === undefined
        ? undefined
        : base === null || figures.median === null || base === 0
          ? null
          : figures.median / base;
    return {
      contender,
      ...figures,
      ...(ratio === undefined ? {} : { ratio }),
      ...(extra === undefined ? {} : { extra }),
    };
  });
  return { ...group, rows };
}
