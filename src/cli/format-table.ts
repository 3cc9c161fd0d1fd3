// Docker's plain tables: columns padded to their widest cell plus three spaces, the last one not
// padded, no trailing blanks (top and the verbs after it; ps keeps its own copy for now).
export function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => (row[c] ?? '').length)));
  return rows
    .map(
      (row) =>
        row
          .map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]! + 3)))
          .join('')
          .trimEnd() + '\n',
    )
    .join('');
}
