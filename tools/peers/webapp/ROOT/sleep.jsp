<%@ page contentType="text/plain; charset=UTF-8" session="false" trimDirectiveWhitespaces="true" %><%
  // sleep.jsp?ms=N waits N milliseconds (at most 60000), then answers "slept=N node=<route>".
  long ms = 0;
  try { ms = Math.min(60000L, Math.max(0L, Long.parseLong(String.valueOf(request.getParameter("ms"))))); } catch (NumberFormatException e) { ms = 0; }
  Thread.sleep(ms);
  out.print("slept=" + ms + " node=" + System.getProperty("cohort.node") + "\n");
%>