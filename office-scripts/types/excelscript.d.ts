// The part of Excel's Office Scripts API (the `ExcelScript` namespace) that FlaskLLM's scripts
// use, declared by this project: each member with the name and signature Microsoft publishes,
// and above it the reference page it was checked against (all under
// https://learn.microsoft.com/javascript/api/office-scripts/excelscript/). The scripts are
// type-checked against it (`npm run typecheck`) and the in-memory workbook implements it
// (test/fake-workbook.ts).
//
// Nothing here may be other than Microsoft's: test/static.test.mjs checks every interface,
// enum and member against types/excelscript-reference.txt, the signatures that
// tools/excelscript-reference.mjs derives from Microsoft's declarations (see that tool).
// Values are `string | number | boolean`, as Microsoft's methods say (no alias of them).

declare namespace ExcelScript {
  // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.workbook
  interface Workbook {
    // Throws when the selection has more than one area: check getSelectedRanges() first.
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.workbook#excelscript-excelscript-workbook-getselectedrange-member(1)
    getSelectedRange(): Range;
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.workbook#excelscript-excelscript-workbook-getselectedranges-member(1)
    getSelectedRanges(): RangeAreas;
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.workbook#excelscript-excelscript-workbook-getactiveworksheet-member(1)
    getActiveWorksheet(): Worksheet;
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.workbook#excelscript-excelscript-workbook-getworksheet-member(1)
    getWorksheet(key: string): Worksheet | undefined;
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.workbook#excelscript-excelscript-workbook-addworksheet-member(1)
    addWorksheet(name?: string): Worksheet;
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.workbook#excelscript-excelscript-workbook-getworksheets-member(1)
    getWorksheets(): Worksheet[];
  }

  // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.worksheet
  interface Worksheet {
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.worksheet#excelscript-excelscript-worksheet-getname-member(1)
    getName(): string;
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.worksheet#excelscript-excelscript-worksheet-getrange-member(1)
    getRange(address?: string): Range;
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.worksheet#excelscript-excelscript-worksheet-getrangebyindexes-member(1)
    getRangeByIndexes(startRow: number, startColumn: number, rowCount: number, columnCount: number): Range;
    // Returns undefined for a blank sheet, although the declared type is Range.
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.worksheet#excelscript-excelscript-worksheet-getusedrange-member(1)
    getUsedRange(valuesOnly?: boolean): Range;
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.worksheet#excelscript-excelscript-worksheet-activate-member(1)
    activate(): void;
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.worksheet#excelscript-excelscript-worksheet-getcell-member(1)
    getCell(row: number, column: number): Range;
  }

  // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.range
  interface Range {
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.range#excelscript-excelscript-range-getaddress-member(1)
    getAddress(): string;
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.range#excelscript-excelscript-range-getworksheet-member(1)
    getWorksheet(): Worksheet;
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.range#excelscript-excelscript-range-getrowindex-member(1)
    getRowIndex(): number;
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.range#excelscript-excelscript-range-getcolumnindex-member(1)
    getColumnIndex(): number;
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.range#excelscript-excelscript-range-getrowcount-member(1)
    getRowCount(): number;
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.range#excelscript-excelscript-range-getcolumncount-member(1)
    getColumnCount(): number;
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.range#excelscript-excelscript-range-getvalues-member(1)
    getValues(): (string | number | boolean)[][];
    // The values must have the range's exact shape.
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.range#excelscript-excelscript-range-setvalues-member(1)
    setValues(values: (string | number | boolean)[][]): void;
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.range#excelscript-excelscript-range-getvalue-member(1)
    getValue(): string | number | boolean;
    // Microsoft declares `any`; the scripts pass a string, a number or a boolean.
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.range#excelscript-excelscript-range-setvalue-member(1)
    setValue(value: any): void;
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.range#excelscript-excelscript-range-getcell-member(1)
    getCell(row: number, column: number): Range;
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.range#excelscript-excelscript-range-getformat-member(1)
    getFormat(): RangeFormat;
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.range#excelscript-excelscript-range-clear-member(1)
    clear(applyTo?: ClearApplyTo): void;
  }

  // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.rangeareas
  interface RangeAreas {
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.rangeareas#excelscript-excelscript-rangeareas-getaddress-member(1)
    getAddress(): string;
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.rangeareas#excelscript-excelscript-rangeareas-getareacount-member(1)
    getAreaCount(): number;
  }

  // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.rangeformat
  interface RangeFormat {
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.rangeformat#excelscript-excelscript-rangeformat-autofitcolumns-member(1)
    autofitColumns(): void;
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.rangeformat#excelscript-excelscript-rangeformat-getfont-member(1)
    getFont(): RangeFont;
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.rangeformat#excelscript-excelscript-rangeformat-setwraptext-member(1)
    setWrapText(wrapText: boolean): void;
  }

  // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.rangefont
  interface RangeFont {
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.rangefont#excelscript-excelscript-rangefont-setbold-member(1)
    setBold(bold: boolean): void;
  }

  // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.clearapplyto
  enum ClearApplyTo {
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.clearapplyto
    all,
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.clearapplyto
    formats,
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.clearapplyto
    contents,
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.clearapplyto
    hyperlinks,
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.clearapplyto
    removeHyperlinks,
    // learn.microsoft.com/javascript/api/office-scripts/excelscript/excelscript.clearapplyto
    resetContents,
  }
}
