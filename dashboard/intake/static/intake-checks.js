/* onenet QR intake: the value checks of the phone forms (the reopening form and the collection forms), as the
 * server's parsers judge them (GB 11643 resident IDs, GB 32100 credit codes, phones, dates, counts).
 * The server runs the real checks; these only tell the person early. */
(function () {
  "use strict";
  function half(s) {
    return String(s || "").replace(/[\uff01-\uff5e]/g, function (c) { return String.fromCharCode(c.charCodeAt(0) - 0xfee0); })
      .replace(/[\u3000\u00a0]/g, " ").trim();
  }
  function validDate(y, m, d) {
    var t = new Date(y, m - 1, d);
    return t.getFullYear() === y && t.getMonth() === m - 1 && t.getDate() === d;
  }
  var ID_W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], ID_C = "10X98765432";
  function checkId(raw) {
    var v = half(raw).replace(/\s/g, "").toUpperCase();
    if (!v) { return "请填写身份证号"; }
    if (/^\d(\.\d+)?E\+?\d+$/.test(v)) { return "身份证号被存成了数字（科学计数法），末几位已丢失：请按原件重新输入"; }
    var birth;
    if (/^\d{15}$/.test(v)) { birth = "19" + v.slice(6, 12); }
    else if (/^\d{17}[\dX]$/.test(v)) {
      var sum = 0;
      for (var i = 0; i < 17; i++) { sum += (v.charCodeAt(i) - 48) * ID_W[i]; }
      if (ID_C.charAt(sum % 11) !== v.charAt(17)) { return "身份证号校验位不符：请逐位核对（末位可能是 X）"; }
      birth = v.slice(6, 14);
    } else { return "身份证号应为 18 位（末位可为 X），已输入 " + v.length + " 位"; }
    var y = +birth.slice(0, 4), m = +birth.slice(4, 6), d = +birth.slice(6, 8);
    if (!validDate(y, m, d) || y < 1900 || new Date(y, m - 1, d) > new Date()) { return "身份证号中的出生日期无效：请核对"; }
    return "";
  }
  function checkPhone(raw) {
    var v = half(raw).replace(/[\s\-()（）]/g, "");
    if (!v) { return ""; }
    v = v.replace(/^(\+86|0086)/, "");
    if (/^1[3-9]\d{9}$/.test(v) || /^0\d{9,11}$/.test(v) || /^[2-9]\d{7}$/.test(v)) { return ""; }
    if (/^1\d*$/.test(v)) { return "手机号应为 11 位，已输入 " + v.length + " 位"; }
    return "电话号码无法识别：手机为 11 位（如 13800138000），座机如 021-12345678";
  }
  function normDate(raw) {
    var v = half(raw).replace(/\s/g, ""), m;
    if (!v) { return ""; }
    if ((m = /^(\d{4})[-\/.年](\d{1,2})[-\/.月](\d{1,2})日?$/.exec(v)) || (m = /^(\d{4})(\d{2})(\d{2})$/.exec(v))) {
      var y = +m[1], mo = +m[2], d = +m[3];
      if (validDate(y, mo, d)) { return y + "-" + ("0" + mo).slice(-2) + "-" + ("0" + d).slice(-2); }
    }
    return null;
  }
  function checkDate(raw, el) {
    if (el && el.validity && el.validity.badInput) { return "日期无效：请重新选择"; }
    var v = half(raw);
    if (!v) { return ""; }
    var n = normDate(v);
    if (n === null) { return "日期无法识别：请写成 2020-02-10"; }
    var y = +n.slice(0, 4);
    if (y < 2000 || y > 2100) { return "年份不对：请核对"; }
    return "";
  }
  function checkCount(raw) {
    var v = half(raw).replace(/[\s,人名个位]/g, "");
    if (!v) { return ""; }
    return /^\d+$/.test(v) ? "" : "请填写不小于 0 的整数";
  }
  var U_ALPHA = "0123456789ABCDEFGHJKLMNPQRTUWXY", U_W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
  function checkUscc(raw) {
    var v = half(raw).replace(/\s/g, "").toUpperCase();
    if (!v) { return ""; }
    if (!/^[0-9A-HJ-NPQRTUWXY]{18}$/.test(v)) { return "统一社会信用代码应为 18 位数字或大写字母（不含 I、O、Z、S、V），已输入 " + v.length + " 位"; }
    var sum = 0;
    for (var i = 0; i < 17; i++) { sum += U_ALPHA.indexOf(v.charAt(i)) * U_W[i]; }
    return U_ALPHA.charAt((31 - sum % 31) % 31) === v.charAt(17) ? "" : "统一社会信用代码校验位不符：请对照营业执照核对";
  }

  window.OnenetChecks = { half: half, validDate: validDate, checkId: checkId, checkPhone: checkPhone, normDate: normDate,
                          checkDate: checkDate, checkCount: checkCount, checkUscc: checkUscc };
})();
